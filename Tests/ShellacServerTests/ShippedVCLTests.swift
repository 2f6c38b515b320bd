// config/default.vcl and the examples in config/examples/, each loaded as shipped (only the
// backend port pointed at a loopback origin) and exercised over real sockets.

import Foundation
import ShellacTestSupport
import Testing

@Suite struct DefaultVCLTests {
    func vcl() throws -> String { try shippedVCL("config/default.vcl", port: "8000") }

    @Test func trackingParametersAreStrippedAndTheQuerySorted() async throws {
        try await withHarness(vcl: try vcl(), script: { request in .ok("page \(request.target)") }) { h in
            let first = try await h.get("/list?utm_source=news&b=2&a=1&gclid=xyz")
            #expect(first.text == "page /list?a=1&b=2")
            #expect(first.header("X-Cache") == "MISS")
            let second = try await h.get("/list?a=1&utm_campaign=spring&b=2")
            #expect(second.header("X-Cache") == "HIT")
            #expect(h.origin.requestCount == 1)
        }
    }

    @Test func staticFilesLoseTheirCookiesAndAreCached() async throws {
        try await withHarness(vcl: try vcl(), script: { _ in .ok("body{}", [("Content-Type", "text/css")]) }) { h in
            _ = try await h.get("/site.css?v=3", [("Cookie", "sessionid=abc")])
            let again = try await h.get("/site.css?v=3", [("Cookie", "other=1")])
            #expect(again.header("X-Cache") == "HIT")
            #expect(h.origin.requestCount == 1)
            #expect(h.origin.requests[0].header("Cookie") == nil)
            // Not static: the cookie passes the request to the app every time.
            _ = try await h.get("/account", [("Cookie", "sessionid=abc")])
            _ = try await h.get("/account", [("Cookie", "sessionid=abc")])
            #expect(h.origin.requestCount == 3)
        }
    }

    @Test func purgeFromAnAllowedAddressEvicts() async throws {
        try await withHarness(vcl: try vcl(), script: { _ in .ok("v") }) { h in
            _ = try await h.get("/news")
            #expect(try await h.get("/news").header("X-Cache") == "HIT")
            let purge = try await h.get("/news", method: "PURGE")
            #expect(purge.status == 200)
            #expect(try await h.get("/news").header("X-Cache") == "MISS")
            #expect(h.origin.requestCount == 2)
        }
    }

    @Test func purgeAndBanFromOtherAddressesAreRefused() async throws {
        // The same file with its ACL not listing this client (127.0.0.1).
        let text = try vcl().replacingOccurrences(of: "    \"localhost\";\n    \"127.0.0.1\";\n", with: "    \"127.0.0.2\";\n")
        try await withHarness(vcl: text, script: { _ in .ok("v") }) { h in
            _ = try await h.get("/news")
            #expect(try await h.get("/news", method: "PURGE").status == 405)
            #expect(try await h.get("/", [("X-Ban-Url", ".")], method: "BAN").status == 405)
            #expect(try await h.get("/news").header("X-Cache") == "HIT")
        }
    }

    @Test func banEvictsEveryMatchingURLOnTheHost() async throws {
        try await withHarness(vcl: try vcl(), script: { request in .ok("v \(request.path)") }) { h in
            for path in ["/blog/1", "/blog/2", "/about"] { _ = try await h.get(path) }
            let ban = try await h.get("/", [("X-Ban-Url", "^/blog/")], method: "BAN")
            #expect(ban.status == 200)
            #expect(try await h.get("/blog/1").header("X-Cache") == "MISS")
            #expect(try await h.get("/blog/2").header("X-Cache") == "MISS")
            #expect(try await h.get("/about").header("X-Cache") == "HIT")
            #expect(try await h.get("/", method: "BAN").status == 400)
        }
    }
}

@Suite struct DjangoExampleTests {
    func vcl() throws -> String { try shippedVCL("config/examples/django.vcl", port: "8000") }

    /// Django's habit: no Cache-Control on views.
    static let view: TestOrigin.Script = { request in
        .ok("view \(request.path) cookie=\(request.header("Cookie") ?? "-")", [("Content-Type", "text/html")])
    }

    @Test func analyticsCookiesAreStrippedAndAnonymousPagesCached() async throws {
        try await withHarness(vcl: try vcl(), script: Self.view) { h in
            let first = try await h.get("/articles/", [("Cookie", "_ga=GA1.2.3; _gid=x; theme=dark")])
            #expect(first.text == "view /articles/ cookie=-")
            let second = try await h.get("/articles/", [("Cookie", "_ga=GA1.9.9")])
            #expect(second.text == first.text)
            #expect(second.header("Cache-Status")?.contains("hit") == true)
            #expect(h.origin.requestCount == 1)
        }
    }

    @Test func onlyDjangoCookiesReachTheAppAndLoggedInUsersPass() async throws {
        try await withHarness(vcl: try vcl(), script: Self.view) { h in
            let cookie = [("Cookie", "_ga=1; sessionid=s3cr3t; csrftoken=tok; intercom=z")]
            let first = try await h.get("/dashboard/", cookie)
            #expect(first.text == "view /dashboard/ cookie=sessionid=s3cr3t; csrftoken=tok")
            _ = try await h.get("/dashboard/", cookie)
            #expect(h.origin.requestCount == 2, "logged-in pages are never cached")
            _ = try await h.get("/admin/", [])
            _ = try await h.get("/admin/", [])
            #expect(h.origin.requestCount == 4)
        }
    }

    @Test func staticFilesAreCachedWithoutCookies() async throws {
        try await withHarness(vcl: try vcl(), script: { _ in .ok("x", [("Set-Cookie", "a=1")]) }) { h in
            _ = try await h.get("/static/app.js", [("Cookie", "sessionid=s")])
            let again = try await h.get("/static/app.js", [("Cookie", "sessionid=s")])
            #expect(again.header("Cache-Status")?.contains("hit") == true)
            #expect(again.header("Set-Cookie") == nil)
            #expect(h.origin.requests[0].header("Cookie") == nil)
        }
    }
}

@Suite struct WordPressExampleTests {
    func vcl() throws -> String { try shippedVCL("config/examples/wordpress.vcl", port: "8080") }

    @Test func loggedInUsersPassAndVisitorsGetCachedPagesWithoutCookies() async throws {
        try await withHarness(vcl: try vcl(), script: { request in
            .ok("post", [("Cache-Control", "max-age=300"), ("Set-Cookie", "visited=1")])
        }) { h in
            let visitor = try await h.get("/hello-world/", [("Cookie", "_ga=1; has_js=1")])
            #expect(visitor.header("Set-Cookie") == nil)
            _ = try await h.get("/hello-world/", [("Cookie", "_ga=1")])
            #expect(h.origin.requestCount == 1)
            #expect(h.origin.requests[0].header("Cookie") == nil)
            _ = try await h.get("/hello-world/", [("Cookie", "wordpress_logged_in_abc=admin")])
            _ = try await h.get("/wp-admin/edit.php", [])
            #expect(h.origin.requestCount == 3)
            #expect(h.origin.requests[1].header("Cookie") == "wordpress_logged_in_abc=admin")
        }
    }

    @Test func banByTagEvictsTheTaggedPagesOnly() async throws {
        try await withHarness(vcl: try vcl(), script: { request in
            let tags = request.path == "/a" ? "post-1 home" : "post-2, home"
            return .ok("page \(request.path)", [("Cache-Control", "max-age=300"), ("X-Cache-Tags", tags)])
        }) { h in
            let page = try await h.get("/a")
            #expect(page.header("X-Cache-Tags") == nil, "tags are stripped before delivery")
            _ = try await h.get("/b")
            let ban = try await h.get("/", [("X-Cache-Tags", "post-1")], method: "BAN")
            #expect(ban.status == 200)
            _ = try await h.get("/a")
            _ = try await h.get("/b")
            #expect(h.origin.requests.map(\.path) == ["/a", "/b", "/a"])
            _ = try await h.get("/", [("X-Cache-Tags", "home")], method: "BAN")
            _ = try await h.get("/a")
            _ = try await h.get("/b")
            #expect(h.origin.requests.map(\.path) == ["/a", "/b", "/a", "/a", "/b"])
        }
    }

    @Test func purgeFromOutsideTheACLIsRefused() async throws {
        let text = try vcl().replacingOccurrences(of: "    \"localhost\";\n    \"127.0.0.1\";\n", with: "")
        try await withHarness(vcl: text, script: { _ in .ok("p") }) { h in
            _ = try await h.get("/p")
            #expect(try await h.get("/p", method: "PURGE").status == 405)
            #expect(try await h.get("/", [("X-Cache-Tags", "x")], method: "BAN").status == 405)
            _ = try await h.get("/p")
            #expect(h.origin.requestCount == 1)
        }
    }
}
