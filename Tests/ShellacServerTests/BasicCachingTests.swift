// b: basic caching end to end — hit after miss, HEAD, Vary, Cookie pass, Set-Cookie hit-for-miss,
// conditional 304s, forwarded headers.

@testable import ShellacServer
import ShellacTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct BasicCachingTests {
    @Test func hitAfterMiss() async throws {
        try await withHarness(script: { _ in .ok("hello") }) { h in
            let first = try await h.get("/a")
            #expect(first.status == 200)
            #expect(first.text == "hello")
            #expect(first.header("Cache-Status") == "Shellac; fwd=uri-miss; fwd-status=200; stored")
            let second = try await h.get("/a")
            #expect(second.text == "hello")
            #expect(second.header("Cache-Status")?.hasPrefix("Shellac; hit; ttl=") == true)
            #expect(second.header("Age") != nil)
            #expect(second.header("Via")?.contains("shellac") == true)
            #expect(second.header("X-Varnish") != first.header("X-Varnish"))
            #expect(h.origin.count(path: "/a") == 1)
            #expect(h.server.counters[.hits] == 1)
            #expect(h.server.counters[.misses] == 1)
        }
    }

    @Test func absoluteFormRequestsShareTheOriginFormObject() async throws {
        try await withHarness(script: { _ in .ok("same") }) { h in
            let c = try await h.client()
            try await c.send("GET http://example.com/abs HTTP/1.1\r\nHost: ignored.example\r\n\r\n")
            #expect(try await c.readResponse().text == "same")
            await c.close()
            let seen = try #require(h.origin.requests.first)
            #expect(seen.target == "/abs")
            #expect(seen.header("Host") == "example.com")
            let hit = try await h.get("/abs")
            #expect(hit.header("Cache-Status")?.contains("hit") == true)
        }
    }

    @Test func headMissFetchesGetAndStoresTheFullObject() async throws {
        try await withHarness(script: { _ in .ok("full body") }) { h in
            let head = try await h.get("/h", method: "HEAD")
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "9")
            #expect(h.origin.requests.first?.method == "GET")
            let get = try await h.get("/h")
            #expect(get.text == "full body")
            #expect(get.header("Cache-Status")?.contains("hit") == true)
            #expect(h.origin.requestCount == 1)
        }
    }

    @Test func varyStoresOneVariantPerHeaderValue() async throws {
        try await withHarness(script: { request in
            .ok("lang=\(request.header("X-Lang") ?? "none")", [("Cache-Control", "max-age=60"), ("Vary", "X-Lang")])
        }) { h in
            #expect(try await h.get("/v", [("X-Lang", "en")]).text == "lang=en")
            #expect(try await h.get("/v", [("X-Lang", "fr")]).text == "lang=fr")
            let en = try await h.get("/v", [("X-Lang", "en")])
            #expect(en.text == "lang=en")
            #expect(en.header("Cache-Status")?.contains("hit") == true)
            #expect(try await h.get("/v", [("X-Lang", "fr")]).text == "lang=fr")
            #expect(h.origin.count(path: "/v") == 2)
        }
    }

    @Test func requestsWithCookiesArePassed() async throws {
        try await withHarness(script: { _ in .ok("private") }) { h in
            for _ in 0..<2 {
                let response = try await h.get("/c", [("Cookie", "session=1")])
                #expect(response.header("Cache-Status") == "Shellac; fwd=bypass; fwd-status=200")
            }
            #expect(h.origin.count(path: "/c") == 2)
            #expect(h.origin.requests.first?.header("Cookie") == "session=1")
            #expect(h.server.counters[.passes] == 2)
        }
    }

    @Test func setCookieResponsesAreNeverSharedAndLeaveAHitForMissMarker() async throws {
        try await withHarness(script: { request in
            .ok("for \(request.header("X-User") ?? "?")", [("Cache-Control", "max-age=60"), ("Set-Cookie", "id=\(request.header("X-User") ?? "?")")])
        }) { h in
            let alice = try await h.get("/me", [("X-User", "alice")])
            #expect(alice.text == "for alice")
            #expect(alice.header("Cache-Status")?.contains("stored") == false)
            let bob = try await h.get("/me", [("X-User", "bob")])
            #expect(bob.text == "for bob")
            #expect(bob.header("Set-Cookie") == "id=bob")
            #expect(bob.header("Cache-Status")?.contains("hit-for-miss") == true)
            #expect(h.origin.count(path: "/me") == 2)
        }
    }

    @Test func noStoreAndPrivateAreNotCached() async throws {
        try await withHarness(script: { request in
            .ok("x", [("Cache-Control", request.path == "/ns" ? "no-store" : "private, max-age=60")])
        }) { h in
            for path in ["/ns", "/pv"] {
                _ = try await h.get(path)
                _ = try await h.get(path)
                #expect(h.origin.count(path: path) == 2)
            }
        }
    }

    @Test func hitForMissMarkersStayWithinTheStorageBudget() async throws {
        // Each new URL of an uncacheable page leaves a marker for uncacheable_ttl: a client
        // adding a random query string made them without bound, outside -s.
        let budget = 32 * 1024
        try await withHarness(budget: budget, script: { _ in .ok("x", [("Cache-Control", "no-store")]) }) { h in
            let c = try await h.client()
            for index in 0..<1_000 {
                try await c.send("GET /page?r=\(index) HTTP/1.1\r\nHost: example.com\r\n\r\n")
                #expect(try await c.readResponse().text == "x")
            }
            await c.close()
            #expect(h.server.store.bytesStored <= budget)
            #expect(h.server.store.markers > 50 && h.server.store.markers < 200, "\(h.server.store.markers) markers")
            // The newest URLs still have theirs: a second request fetches alone, without waiting.
            let again = try await h.get("/page?r=999")
            #expect(again.header("Cache-Status")?.contains("hit-for-miss") == true)
        }
    }

    @Test func responsesWithoutFreshnessAreNotReusedByDefault() async throws {
        try await withHarness(script: { _ in .ok("x", []) }) { h in
            _ = try await h.get("/n")
            _ = try await h.get("/n")
            #expect(h.origin.count(path: "/n") == 2)
        }
    }

    @Test func defaultTTLMakesThemCacheable() async throws {
        try await withHarness(parameters: ["default_ttl=30s"], script: { _ in .ok("x", []) }) { h in
            _ = try await h.get("/n")
            _ = try await h.get("/n")
            #expect(h.origin.count(path: "/n") == 1)
        }
    }

    @Test func conditionalRequestsGet304FromTheCache() async throws {
        let lastModified = "Sun, 06 Nov 1994 08:49:37 GMT"
        try await withHarness(script: { _ in
            .ok("tagged", [("Cache-Control", "max-age=60"), ("ETag", "\"v1\""), ("Last-Modified", lastModified),
                           ("Content-Type", "text/plain"), ("Content-Language", "en"), ("X-Origin-Note", "kept")])
        }) { h in
            let miss = try await h.get("/t", [("If-None-Match", "\"v1\"")])
            #expect(miss.status == 304, "validators are answered by us even on a miss")
            #expect(h.origin.requests.first?.header("If-None-Match") == nil, "not forwarded on a cacheable fetch")
            let hit = try await h.get("/t", [("If-None-Match", "\"v1\"")])
            #expect(hit.status == 304)
            #expect(hit.header("ETag") == "\"v1\"")
            // Everything but what describes the body, as on a 200 (CORS fields, the origin's own).
            #expect(hit.header("X-Origin-Note") == "kept")
            #expect(hit.header("Content-Type") == nil && hit.header("Content-Length") == nil)
            #expect(hit.header("Content-Language") == nil && hit.header("Last-Modified") == lastModified)
            #expect(hit.header("Age") != nil && hit.header("X-Varnish") != nil)
            #expect(hit.header("Cache-Status")?.hasPrefix("Shellac; hit") == true)
            #expect(hit.text.isEmpty)
            #expect(try await h.get("/t", [("If-Modified-Since", lastModified)]).status == 304)
            #expect(try await h.get("/t", [("If-None-Match", "\"v2\"")]).status == 200)
            #expect(h.origin.count(path: "/t") == 1)
        }
    }

    @Test func hopByHopHeadersAreRemovedAndForwardedForIsAppended() async throws {
        try await withHarness(script: { _ in .ok("x", [("Cache-Control", "no-store"), ("Connection", "X-Secret"),
                                                     ("X-Secret", "hop"), ("Keep-Alive", "timeout=5")]) }) { h in
            let response = try await h.get("/hop", [("Connection", "X-Client-Hop"), ("X-Client-Hop", "1"),
                                                    ("Proxy-Authorization", "x"), ("TE", "trailers"),
                                                    ("X-Forwarded-For", "10.9.9.9")])
            let seen = try #require(h.origin.requests.first)
            #expect(seen.header("X-Client-Hop") == nil)
            #expect(seen.header("Proxy-Authorization") == nil)
            #expect(seen.header("TE") == nil)
            #expect(seen.header("X-Forwarded-For") == "10.9.9.9, 127.0.0.1")
            #expect(response.header("X-Secret") == nil)
            #expect(response.header("Keep-Alive") == nil)
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct PassedHeadTests {
    @Test func passedHeadKeepsTheBackendsContentLength() async throws {
        try await withHarness(script: { _ in .ok("twelve bytes", [("Cache-Control", "no-store")]) }) { h in
            let c = try await h.client()
            try await c.send("HEAD /p HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\n\r\n")
            let response = try await c.readResponse(forHEAD: true)
            #expect(response.header("Content-Length") == "12")
            #expect(h.origin.requests.first?.method == "HEAD")
            await c.close()
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct InvalidationTests {
    @Test func unsafeMethodsInvalidateTheTargetAndItsLocation() async throws {
        try await withHarness(script: { request in
            switch request.method {
            case "POST": return .ok("created", [("Cache-Control", "no-store"), ("Location", "/list")], status: 201)
            case "DELETE": return .ok("failed", [("Cache-Control", "no-store")], status: 500)
            default: return .ok("page \(request.path)")
            }
        }) { h in
            for path in ["/item", "/list", "/other"] { _ = try await h.get(path) }
            #expect(h.server.store.objects == 3)
            let post = try await h.get("/item", method: "POST")
            #expect(post.status == 201)
            #expect(h.server.store.objects == 1, "/item and its Location /list are gone")
            let again = try await h.get("/other")
            #expect(again.header("Cache-Status")?.contains("hit") == true)
            // An error answer invalidates nothing.
            _ = try await h.get("/other", method: "DELETE")
            #expect(h.server.store.objects == 1)
        }
    }
}

@Suite struct NotModifiedHeadTests {
    /// Exactly the six fields describing a body are left out of a 304, in any case; names of
    /// the same lengths or beginnings are kept.
    @Test func representationMetadataIsTheSixFieldsThatDescribeABody() {
        func leftOut(_ name: String) -> Bool {
            Array(name.utf8).withUnsafeBytes { ResponseHead.isRepresentationMetadata($0) }
        }
        for name in ["Content-Type", "content-encoding", "CONTENT-LANGUAGE", "Content-Length", "Content-Range",
                     "Transfer-Encoding"] {
            #expect(leftOut(name), "\(name)")
        }
        for name in ["Cache-Control", "Content-Location", "Last-Modified", "Content-Lengths", "Content-Typo", "ETag",
                     "Transfer-Encodinx", "Content-MD5", ""] {
            #expect(!leftOut(name), "\(name)")
        }
    }
}
