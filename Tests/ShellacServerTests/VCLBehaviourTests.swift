// VCL subroutines driving real requests: restart to a fallback backend, synth pages and status
// signals, pipe for WebSocket, backend-side changes and retries, error pages, and reloads.

import Foundation
import Logging
import ShellacServer
import ShellacTestSupport
import Synchronization
import Testing

@Suite struct VCLBehaviourTests {
    @Test func restartSendsTheRequestToAFallbackBackend() async throws {
        let fallback = try await TestOrigin { _ in .ok("from fallback") }
        defer { Task { await fallback.stop() } }
        let vcl = """
        vcl 4.1;
        backend primary { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        backend spare { .host = "127.0.0.1"; .port = "\(fallback.port)"; }
        sub vcl_recv {
            if (req.restarts > 0) { set req.backend_hint = spare; }
        }
        sub vcl_deliver {
            if (resp.status >= 500 && req.restarts == 0) { return (restart); }
            set resp.http.X-Restarts = req.restarts;
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("down", status: 503) }) { h in
            let response = try await h.get("/page")
            #expect(response.status == 200)
            #expect(response.text == "from fallback")
            #expect(response.header("X-Restarts") == "1")
            #expect(h.origin.requestCount == 1)
            #expect(fallback.requestCount == 1)
        }
    }

    @Test func tooManyRestartsAnswer503() async throws {
        let vcl = "vcl 4.1;\nbackend b { .host = \"127.0.0.1\"; .port = \"ORIGIN_PORT\"; }\n"
            + "sub vcl_recv { return (restart); }\n"
        try await withHarness(parameters: ["max_restarts=2"], vcl: vcl, script: { _ in .ok("x") }) { h in
            let response = try await h.get("/")
            #expect(response.status == 503)
            #expect(response.reason == "Service Unavailable")  // as Varnish answers it
            #expect(h.origin.requestCount == 0)
        }
    }

    /// vcl_synth that always restarts: past max_restarts its response goes as it is (Varnish does
    /// the same); it recursed until the stack overflowed and the daemon died. With the most
    /// restarts the parameter allows, the server still answers and keeps serving.
    @Test(arguments: [4, 100])
    func aSynthThatAlwaysRestartsIsAnsweredOnce(maxRestarts: Int) async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv { if (req.url == "/loop") { return (synth(200)); } }
        sub vcl_synth { set resp.http.X-Restarts = req.restarts; return (restart); }
        """
        try await withHarness(parameters: ["max_restarts=\(maxRestarts)"], vcl: vcl,
                              script: { _ in .ok("fine", [("Cache-Control", "no-store")]) }) { h in
            let response = try await h.get("/loop")
            #expect(response.status == 503)
            #expect(response.header("X-Restarts") == "\(maxRestarts + 1)")
            #expect(try await h.get("/other").text == "fine")
        }
    }

    @Test func synthMakesCustomPagesAndRedirects() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv {
            if (req.url == "/teapot") { return (synth(418)); }
            if (req.url ~ "^/old/") { return (synth(750, regsub(req.url, "^/old/", "/new/"))); }
        }
        sub vcl_synth {
            if (resp.status == 750) {
                # The reason first: a new status brings its own (as in Varnish).
                set resp.http.Location = resp.reason;
                set resp.status = 301;
                return (deliver);
            }
            set resp.http.Content-Type = "text/plain";
            synthetic("custom " + resp.status + " " + resp.reason + " for " + req.url);
            return (deliver);
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
            let teapot = try await h.get("/teapot")
            #expect(teapot.status == 418)
            #expect(teapot.text == "custom 418 I'm a teapot for /teapot")
            #expect(teapot.header("Content-Type") == "text/plain")
            let moved = try await h.get("/old/page?x=1")
            #expect(moved.status == 301)
            #expect(moved.header("Location") == "/new/page?x=1")
            #expect(moved.body.isEmpty)
            #expect(h.origin.requestCount == 0)
        }
    }

    /// As in Varnish, vcl_recv sees X-Forwarded-For with the client's address already added,
    /// and the field goes to the backend as the VCL left it: the Varnish 3 idiom below (still in
    /// many VCL files) sends the address once, on a miss, a pass and a pipe alike.
    @Test func forwardedForIsExtendedBeforeVCLRecv() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv {
            set req.http.X-Seen = req.http.X-Forwarded-For;
            if (req.http.X-Forwarded-For) {
                set req.http.X-Forwarded-For = req.http.X-Forwarded-For;
            } else {
                set req.http.X-Forwarded-For = client.ip;
            }
            if (req.url ~ "^/pass") { return (pass); }
            if (req.url ~ "^/pipe") { return (pipe); }
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
            _ = try await h.get("/miss")
            _ = try await h.get("/pass", [("X-Forwarded-For", "203.0.113.9")])
            _ = try await h.get("/pipe")
            let seen = h.origin.requests.map { [$0.path, $0.header("X-Seen") ?? "-", $0.header("X-Forwarded-For") ?? "-"] }
            #expect(seen == [["/miss", "127.0.0.1", "127.0.0.1"],
                             ["/pass", "203.0.113.9, 127.0.0.1", "203.0.113.9, 127.0.0.1"],
                             ["/pipe", "127.0.0.1", "127.0.0.1"]])
        }
    }

    /// std.port reads the connection's ports: the listening one for server.ip (the usual test
    /// for "came in on the TLS terminator's port"), the client's own for client.ip.
    @Test func stdPortReadsTheConnectionsPorts() async throws {
        let vcl = """
        vcl 4.1;
        import std;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv { return (synth(200)); }
        sub vcl_synth {
            set resp.http.X-Server-Port = std.port(server.ip);
            set resp.http.X-Client-Port = std.port(client.ip);
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
            let response = try await h.get("/")
            #expect(response.header("X-Server-Port") == String(h.port))
            #expect(Int(response.header("X-Client-Port") ?? "") ?? 0 > 0)
            #expect(response.header("X-Client-Port") != String(h.port))
        }
    }

    /// A header value with a line break from VCL (here a file's content) fails vcl_deliver: the
    /// client gets a 503, never a response with a header line VCL smuggled in.
    @Test func aLineBreakInAHeaderFromVCLIsNeverWritten() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_deliver {
            set resp.http.X-Note = {"first line
        Set-Cookie: injected=1"};
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("body") }) { h in
            let response = try await h.get("/page")
            #expect(response.status == 503)
            #expect(response.header("Set-Cookie") == nil)
            #expect(response.header("X-Note") == nil)
        }
    }

    /// A 304 carries what vcl_deliver added, as a 200 would (Varnish does the same).
    @Test func notModifiedCarriesWhatVCLDeliverAdded() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_deliver { set resp.http.X-Cache = "HIT " + obj.hits; }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("x", [("Cache-Control", "max-age=60"), ("ETag", "\"e\"")]) }) { h in
            _ = try await h.get("/c")
            let response = try await h.get("/c", [("If-None-Match", "\"e\"")])
            #expect(response.status == 304)
            #expect(response.header("X-Cache") == "HIT 1")
        }
    }

    @Test func webSocketUpgradesArePipedBothWays() async throws {
        let echo = try await UpgradeEchoOrigin()
        defer { Task { await echo.stop() } }
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "\(echo.port)"; }
        sub vcl_recv {
            if (req.http.Upgrade ~ "(?i)websocket") { return (pipe); }
        }
        sub vcl_pipe {
            set bereq.http.X-Piped = "yes";
            if (req.http.Upgrade) {
                set bereq.http.Upgrade = req.http.Upgrade;
                set bereq.http.Connection = req.http.Connection;
            }
        }
        """
        try await withHarness(parameters: ["pipe_timeout=5s"], vcl: vcl, script: { _ in .ok("x") }) { h in
            let c = try await h.client()
            try await c.send("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nfirst-frame")
            let handshake = try await c.readUntil("first-frame")
            #expect(handshake.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
            try await c.send("second-frame")
            #expect(try await c.readUntil("second-frame") == "second-frame")
            let head = try #require(echo.receivedHeads.first)
            #expect(head.contains("Upgrade: websocket"))
            #expect(head.contains("Connection: Upgrade"))
            #expect(head.contains("X-Piped: yes"))
            await c.close()
        }
    }

    @Test func backendSubroutinesShapeTheFetchAndRetry() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_backend_fetch {
            set bereq.http.X-Shellac = "1";
            set bereq.url = regsub(bereq.url, "^/api/", "/v2/");
        }
        sub vcl_backend_response {
            if (beresp.status == 503 && bereq.retries < 2) { return (retry); }
            set beresp.http.X-Retries = bereq.retries;
            set beresp.ttl = 1m;
        }
        """
        let calls = Counter()
        try await withHarness(vcl: vcl, script: { request in
            calls.next() < 2 ? .ok("busy", status: 503) : .ok("ok \(request.target)", [("Content-Type", "text/plain")])
        }) { h in
            let response = try await h.get("/api/items")
            #expect(response.status == 200)
            #expect(response.text == "ok /v2/items")
            #expect(response.header("X-Retries") == "2")
            #expect(h.origin.requestCount == 3)
            #expect(h.origin.requests.allSatisfy { $0.header("X-Shellac") == "1" })
            // vcl_backend_response set a TTL on a response without one: it is cached.
            #expect(try await h.get("/api/items").header("Cache-Status")?.contains("hit") == true)
        }
    }

    /// A retry sends bereq as the backend subroutines left it, as Varnish does (since 4.0.2):
    /// changes made on one try are there on the next; std.rollback(bereq) gives the original back.
    @Test(arguments: [false, true])
    func retriesKeepBereqChangesUnlessRolledBack(rollingBack: Bool) async throws {
        let vcl = """
        vcl 4.1;
        import std;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv { return (pass); }
        sub vcl_backend_fetch {
            \(rollingBack ? "if (bereq.retries > 0) { std.rollback(bereq); }" : "")
            set bereq.http.X-Tries = bereq.http.X-Tries + "a";
            if (bereq.retries == 1) { set bereq.url = bereq.url + "&second"; }
        }
        sub vcl_backend_response {
            if (bereq.retries < 2) { return (retry); }
            set beresp.http.X-Tries = bereq.http.X-Tries;
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("ok") }) { h in
            let response = try await h.get("/r?first", [("X-Tries", "z")])
            #expect(response.status == 200)
            let sent = h.origin.requests.map { "\($0.target) \($0.header("X-Tries") ?? "-")" }
            if rollingBack {
                #expect(sent == ["/r?first za", "/r?first&second za", "/r?first za"])
                #expect(response.header("X-Tries") == "za")
            } else {
                #expect(sent == ["/r?first za", "/r?first&second zaa", "/r?first&second zaaa"])
                #expect(response.header("X-Tries") == "zaaa")
            }
        }
    }

    /// bereq may be changed in vcl_backend_error and vcl_backend_response too (Varnish's "backend"
    /// scope): the usual way to retry with a fallback backend or with a mark for the origin.
    @Test func bereqChangedAfterAFetchGoesWithTheRetry() async throws {
        let vcl = """
        vcl 4.1;
        backend dead { .host = "127.0.0.1"; .port = "1"; }
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv { set req.backend_hint = dead; return (pass); }
        sub vcl_backend_error {
            if (bereq.retries == 0) {
                set bereq.backend = b;
                set bereq.http.X-Fallback = "error";
                return (retry);
            }
        }
        sub vcl_backend_response {
            if (beresp.status == 503 && bereq.retries < 2) {
                set bereq.http.X-Again = "response";
                set bereq.first_byte_timeout = 5s;
                return (retry);
            }
            set beresp.http.X-Retries = bereq.retries;
        }
        """
        let calls = Counter()
        try await withHarness(vcl: vcl, script: { _ in calls.next() == 0 ? .ok("busy", status: 503) : .ok("ok") }) { h in
            let response = try await h.get("/f")
            #expect(response.status == 200)
            #expect(response.text == "ok")
            #expect(response.header("X-Retries") == "2")
            let sent = h.origin.requests.map { "\($0.header("X-Fallback") ?? "-") \($0.header("X-Again") ?? "-")" }
            #expect(sent == ["error -", "error response"])
        }
    }

    /// Past max_retries (4) a retry is not made: vcl_backend_error runs, reading one retry more,
    /// and the client gets the 503 of a failed fetch, as from Varnish (compared side by side).
    @Test func retriesPastTheLimitEndInVclBackendError() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv { return (pass); }
        sub vcl_backend_response { return (retry); }
        sub vcl_backend_error { set beresp.http.X-Retries = bereq.retries; }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("ok") }) { h in
            let response = try await h.get("/always")
            #expect(response.status == 503)
            #expect(response.reason == "Backend fetch failed")
            #expect(response.header("X-Retries") == "5")
            #expect(h.origin.requestCount == 5)
        }
    }

    /// Variables of Varnish 7 VCL that were refused: beresp.body (set replaces the body so far,
    /// synthetic() appends, as resp.body does), resp.is_streaming, req.time (the same across
    /// restarts), bereq.time (the same across retries); and client.identity and remote.ip read
    /// in backend subroutines. Each answered as under Varnish 7.1 when compared side by side.
    @Test func varnishSevenVariablesAnswerAsInVarnish() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        backend dead { .host = "127.0.0.1"; .port = "1"; }
        sub vcl_recv {
            if (req.url ~ "^/dead") { set req.backend_hint = dead; }
            if (req.url ~ "^/synth") { return (synth(201)); }
            if (req.restarts == 0) { set req.http.X-First = req.time; }
        }
        sub vcl_backend_fetch {
            if (bereq.retries == 0) { set bereq.http.X-Start = bereq.time; }
            set bereq.http.X-Who = remote.ip + " " + client.identity;
        }
        sub vcl_backend_response {
            if (bereq.url ~ "retried" && bereq.retries == 0) { return (retry); }
            set beresp.http.X-Same-Start = bereq.http.X-Start == "" + bereq.time;
            set beresp.ttl = 60s;
        }
        sub vcl_backend_error {
            set beresp.body = "first";
            set beresp.body = "sorry " + beresp.status;
            synthetic(" (" + bereq.retries + ")");
            return (deliver);
        }
        sub vcl_deliver {
            if (req.url ~ "restarted" && req.restarts == 0) { return (restart); }
            set resp.http.X-Streaming = resp.is_streaming;
            set resp.http.X-Same-Time = req.http.X-First == "" + req.time;
        }
        sub vcl_synth { set resp.http.X-Streaming = resp.is_streaming; }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("ok") }) { h in
            let miss = try await h.get("/a")
            #expect(miss.header("X-Streaming") == "true")
            #expect(miss.header("X-Same-Time") == "true")
            #expect(try await h.get("/a").header("X-Streaming") == "false")  // a hit
            #expect(try await h.get("/synth").header("X-Streaming") == "false")
            let error = try await h.get("/dead")
            #expect(error.status == 503)
            #expect(error.text == "sorry 503 (0)")
            #expect(try await h.get("/retried").header("X-Same-Start") == "true")
            #expect(try await h.get("/restarted").header("X-Same-Time") == "true")
            #expect(h.origin.requests.allSatisfy { $0.header("X-Who") == "127.0.0.1 127.0.0.1" })
        }
    }

    /// A client's URL that makes a VCL pattern backtrack without end fails the request (503, as
    /// Varnish answers it) within the match limit rather than holding the event loop.
    @Test func aRunawayRegexOnAClientURLFailsTheRequest() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv { if (req.url ~ "^/(a+)+$") { return (synth(200, "all a")); } }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("ok", [("Cache-Control", "no-store")]) }) { h in
            let allA = try await h.get("/" + String(repeating: "a", count: 40))
            #expect(allA.status == 200)
            let crafted = try await h.get("/" + String(repeating: "a", count: 40) + "!")
            #expect(crafted.status == 503)
            let fine = try await h.get("/fine")
            #expect(fine.text == "ok")
        }
    }

    /// A VCL that doubles a header on every restart (or multiplies a client's header) fails once
    /// the value passes vcl_value_max (64 KiB), as Varnish's does when its workspace runs out,
    /// instead of growing to gigabytes; the server goes on serving.
    @Test func aValueGrownPastTheLimitFailsTheRequest() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv {
            if (req.url == "/grow") {
                if (!req.http.X) { set req.http.X = "ab"; }
                set req.http.X = req.http.X + req.http.X;
                if (req.restarts < 40) { return (restart); }
            }
            if (req.url == "/url") { set req.url = regsuball(req.http.Y, ".", "0123456789abcdef0123456789abcdef"); }
            return (pass);
        }
        """
        try await withHarness(parameters: ["max_restarts=100"], vcl: vcl,
                              script: { _ in .ok("ok", [("Cache-Control", "no-store")]) }) { h in
            let grown = try await h.get("/grow")
            #expect(grown.status == 503)
            let multiplied = try await h.get("/url", [("Y", String(repeating: "y", count: 4096))])
            #expect(multiplied.status == 503)
            let fine = try await h.get("/fine")
            #expect(fine.text == "ok")
            #expect(h.origin.requests.map(\.path) == ["/fine"])
        }
    }

    /// X-Forwarded-For and X-Varnish go with every backend request, retries included, whether or
    /// not VCL looks at them; vcl_backend_fetch sees them on bereq and may change or drop them.
    @Test func backendRequestsCarryForwardingFieldsThatVCLCanChange() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv { return (pass); }
        sub vcl_backend_fetch {
            if (bereq.url ~ "seen") {
                set bereq.http.X-Seen = bereq.http.X-Forwarded-For + " " + bereq.http.X-Varnish;
            }
            if (bereq.url ~ "changed") {
                set bereq.http.X-Forwarded-For = "10.1.1.1";
                unset bereq.http.X-Varnish;
            }
        }
        sub vcl_backend_response {
            if (beresp.status == 503 && bereq.retries < 1) { return (retry); }
        }
        """
        let calls = Counter()
        try await withHarness(vcl: vcl, script: { request in
            request.path == "/retried" && calls.next() == 0 ? .ok("busy", status: 503) : .ok("ok")
        }) { h in
            func forwarding(_ request: OriginRequest) -> [String] {
                request.headers.filter { ["x-forwarded-for", "x-varnish"].contains($0.0.lowercased()) }
                    .map { "\($0.0.lowercased())=\($0.1)" }
            }
            let plain = try await h.get("/plain")
            let id = try #require(plain.header("X-Varnish"))
            #expect(h.origin.requests.map(forwarding) == [["x-forwarded-for=127.0.0.1", "x-varnish=\(id)"]])

            let seen = try await h.get("/seen")
            let seenRequest = try #require(h.origin.requests.last)
            #expect(seenRequest.header("X-Seen") == "127.0.0.1 \(seen.header("X-Varnish") ?? "?")")
            #expect(forwarding(seenRequest).count == 2)

            _ = try await h.get("/changed")
            #expect(forwarding(try #require(h.origin.requests.last)) == ["x-forwarded-for=10.1.1.1"])

            let retried = try await h.get("/retried")
            #expect(retried.text == "ok")
            let both = h.origin.requests.filter { $0.path == "/retried" }
            #expect(both.count == 2)
            #expect(both.map(forwarding) == Array(repeating: ["x-forwarded-for=127.0.0.1",
                                                              "x-varnish=\(retried.header("X-Varnish") ?? "?")"], count: 2))
        }
    }

    @Test func hitForPassSendsLaterRequestsStraightToTheBackend() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_backend_response {
            if (beresp.http.X-Personal) { return (pass(30s)); }
        }
        sub vcl_deliver { set resp.http.X-Hit-Pass = req.is_hitpass; }
        """
        try await withHarness(vcl: vcl, script: { request in
            .ok("for \(request.header("X-User") ?? "?")", [("Cache-Control", "max-age=60"), ("X-Personal", "1")])
        }) { h in
            let first = try await h.get("/me", [("X-User", "ann")])
            #expect(first.text == "for ann")
            let second = try await h.get("/me", [("X-User", "bob")])
            #expect(second.text == "for bob", "never served from the cache")
            #expect(second.header("Cache-Status")?.contains("fwd=bypass") == true)
            #expect(second.header("Cache-Status")?.contains("detail=hit-for-pass") == true)
            #expect(second.header("X-Hit-Pass") == "true")
            #expect(h.origin.requestCount == 2)
        }
    }

    /// The start of the delivery tests' VCL: /synth is answered by vcl_synth, /account… passed;
    /// each test adds its vcl_deliver.
    /// The machine's name as the kernel has it (what server.hostname reads).
    static var kernelHostname: String? {
        (try? String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let synthAndPassRoutes = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv {
            if (req.url == "/synth") { return (synth(404)); }
            if (req.url ~ "^/account") { return (pass); }
        }

        """

    /// What e-commerce and CMS VCLs do in vcl_deliver: label the response by obj.uncacheable and
    /// obj.hits, and hide Age and X-Varnish; vcl_synth can hide X-Varnish too.
    @Test func deliverSeesAndHidesTheFieldsShellacAdds() async throws {
        let vcl = Self.synthAndPassRoutes + """
        sub vcl_deliver {
            if (obj.uncacheable) {
                set resp.http.X-Debug = "UNCACHEABLE";
            } else if (obj.hits) {
                set resp.http.X-Debug = "HIT";
            } else {
                set resp.http.X-Debug = "MISS";
            }
            set resp.http.X-Was = resp.http.Age + " " + resp.http.X-Varnish;
            set resp.http.X-Host = server.hostname;
            unset resp.http.Age;
            unset resp.http.X-Varnish;
            if (req.url ~ "status") { set resp.http.Cache-Status = "hidden"; }
        }
        sub vcl_synth { unset resp.http.X-Varnish; }
        sub vcl_backend_response { set beresp.http.X-Fetched-On = server.hostname; }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("page") }) { h in
            let miss = try await h.get("/page")
            #expect(miss.header("X-Debug") == "MISS")
            let hit = try await h.get("/page")
            #expect(hit.header("X-Debug") == "HIT")
            let pass = try await h.get("/account")
            #expect(pass.header("X-Debug") == "UNCACHEABLE")
            for response in [miss, hit, pass] {
                #expect(response.header("Age") == nil)
                #expect(response.header("X-Varnish") == nil)
                // Both were readable: the age in seconds (0 or more, with a slow machine) and the request id.
                let was = (response.header("X-Was") ?? "").split(separator: " ")
                #expect(was.count == 2 && was.allSatisfy { Int($0) != nil }, "\(was)")
                #expect(response.header("Cache-Status") != nil)
                #expect(response.header("X-Host") == Self.kernelHostname, "server.hostname")
                #expect(response.header("X-Fetched-On") == Self.kernelHostname, "server.hostname in a fetch")
            }
            let replaced = try await h.get("/status")
            #expect(replaced.headers.filter { $0.0.lowercased() == "cache-status" }.map(\.1) == ["hidden"])
            let synthetic = try await h.get("/synth")
            #expect(synthetic.status == 404)
            #expect(synthetic.header("X-Varnish") == nil)
            #expect(h.origin.requestCount == 3)
        }
    }

    /// Via is appended as each response is delivered (RFC 9110 §7.6.3): the origin's stays, ours
    /// follows, on misses, hits and passes alike, not on synthetic pages; vcl_deliver reads both
    /// and can hide them or write its own.
    /// vcl_deliver sees the lifetimes vcl_backend_response left on the object it delivers, on a
    /// miss (the response as it streams) as on a hit; a pass's response has none (as in Varnish:
    /// beresp.ttl minus its age, no grace, no keep).
    @Test func deliverSeesTheFetchedObjectsLifetimes() async throws {
        let vcl = Self.synthAndPassRoutes + """
        sub vcl_backend_response {
            set beresp.http.X-Fetched = beresp.ttl + " " + beresp.grace + " " + beresp.keep;
            if (!bereq.uncacheable) { set beresp.grace = 30s; set beresp.keep = 60s; }
        }
        sub vcl_deliver {
            if (obj.ttl > 50s && obj.ttl <= 60s) { set resp.http.X-Ttl = "fresh"; }
            elsif (obj.ttl <= 0s) { set resp.http.X-Ttl = "none"; }
            set resp.http.X-Lifetimes = obj.grace + " " + obj.keep;
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("page", [("Cache-Control", "max-age=60")]) }) { h in
            let miss = try await h.get("/page")
            let hit = try await h.get("/page")
            for response in [miss, hit] {
                #expect(response.header("X-Ttl") == "fresh")
                #expect(response.header("X-Lifetimes") == "30.000 60.000")
            }
            #expect(miss.header("X-Fetched") == "60.000 10.000 0.000")
            let pass = try await h.get("/account")
            #expect(pass.header("X-Fetched") == "0.000 0.000 0.000")
            #expect(pass.header("X-Ttl") == "none")
            #expect(pass.header("X-Lifetimes") == "0.000 0.000")
        }
    }

    /// Setting a status brings its standard reason phrase, as in Varnish (the redirect idiom:
    /// synth(750) turned into a 301 in vcl_synth); a reason set after it stays.
    @Test func aStatusSetInVCLBringsItsReason() async throws {
        let vcl = Self.synthAndPassRoutes + """
        sub vcl_recv { if (req.url == "/old") { return (synth(750, "Moved")); } }
        sub vcl_synth {
            if (resp.status == 750) {
                set resp.http.Location = "https://example.com/new";
                set resp.status = 301;
                return (deliver);
            }
        }
        sub vcl_backend_response { if (bereq.url == "/gone") { set beresp.status = 410; } }
        sub vcl_deliver {
            if (req.url == "/missing") { set resp.status = 404; }
            if (req.url == "/renamed") { set resp.status = 404; set resp.reason = "Nowhere"; }
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("page", [("Cache-Control", "max-age=60")]) }) { h in
            let redirect = try await h.get("/old")
            #expect(redirect.status == 301 && redirect.reason == "Moved Permanently")
            #expect(redirect.header("Location") == "https://example.com/new")
            let missing = try await h.get("/missing")
            #expect(missing.status == 404 && missing.reason == "Not Found")
            let renamed = try await h.get("/renamed")
            #expect(renamed.status == 404 && renamed.reason == "Nowhere")
            let gone = try await h.get("/gone")
            #expect(gone.status == 410 && gone.reason == "Gone")
            let page = try await h.get("/page")
            #expect(page.status == 200 && page.reason == "X", "the origin's own reason, untouched")
        }
    }

    @Test func viaIsAppendedOnDeliveryAndVCLCanHideOrReplaceIt() async throws {
        let vcl = Self.synthAndPassRoutes + """
        sub vcl_deliver {
            set resp.http.X-Via = resp.http.Via;
            if (req.url ~ "hidden") { unset resp.http.Via; }
            if (req.url ~ "mine") { set resp.http.Via = "1.1 edge"; }
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("page", [("Cache-Control", "max-age=60"),
                                                                     ("Via", "1.1 upstream")]) }) { h in
            let ours = "1.1 shellac (Shellac/0.1)"
            let miss = try await h.get("/page")
            let hit = try await h.get("/page")
            let pass = try await h.get("/account")
            for response in [miss, hit, pass] {
                #expect(response.headers.filter { $0.0.lowercased() == "via" }.map(\.1) == ["1.1 upstream", ours])
                #expect(response.header("X-Via") == "1.1 upstream, \(ours)")
            }
            #expect(hit.header("Cache-Status")?.hasPrefix("Shellac; hit") == true)
            let hidden = try await h.get("/hidden")
            #expect(hidden.header("Via") == nil)
            let mine = try await h.get("/mine")
            #expect(mine.headers.filter { $0.0.lowercased() == "via" }.map(\.1) == ["1.1 edge"])
            let synthetic = try await h.get("/synth")
            #expect(synthetic.status == 404)
            #expect(synthetic.header("Via") == nil)
        }
    }

    /// Stored fields vcl_deliver unsets (Server and X-Powered-By, as most VCLs do) are left out
    /// of every answer from the stored head — a hit, a HEAD, a 304 and a 206 — and only those:
    /// the rest keep their order and values, a name set again carries its new value, and the
    /// stored object itself is untouched (a VCL without the unset would still see it).
    @Test func storedFieldsUnsetInDeliverAreLeftOutOfHits() async throws {
        let vcl = Self.synthAndPassRoutes + """
        sub vcl_deliver {
            unset resp.http.Server;
            unset resp.http.x-powered-by;
            if (req.url ~ "again") { set resp.http.Server = "edge"; }
            set resp.http.X-Cache = "seen";
        }
        """
        let stored: [(String, String)] = [("Cache-Control", "max-age=60"), ("Server", "gunicorn"), ("ETag", "\"v1\""),
                                          ("X-Powered-By", "Django"), ("Content-Type", "text/plain"), ("X-Kept", "1")]
        // A head of over 64 fields with Server last is rebuilt instead (its lines are not counted).
        let long = (0..<70).map { ("X-Filler-\($0)", "v") } + [("Cache-Control", "max-age=60"), ("Server", "late")]
        try await withHarness(vcl: vcl, script: { request in
            .ok("hello world", request.path.hasPrefix("/long") ? long : stored)
        }) { h in
            func names(_ response: TestResponse) -> [String] {
                response.headers.map { $0.0 }.filter { ["cache-control", "etag", "content-type", "x-kept", "server",
                                                       "x-powered-by", "x-cache"].contains($0.lowercased()) }
            }
            let miss = try await h.get("/page")
            let hit = try await h.get("/page")
            #expect(hit.header("Cache-Status")?.hasPrefix("Shellac; hit") == true)
            for response in [miss, hit] {
                #expect(names(response) == ["Cache-Control", "ETag", "Content-Type", "X-Kept", "X-Cache"])
                #expect(response.text == "hello world" && response.header("Content-Length") == "11")
            }
            let head = try await h.get("/page", method: "HEAD")
            #expect(names(head) == ["Cache-Control", "ETag", "Content-Type", "X-Kept", "X-Cache"])
            let notModified = try await h.get("/page", [("If-None-Match", "\"v1\"")])
            #expect(notModified.status == 304)
            #expect(names(notModified) == ["Cache-Control", "ETag", "X-Kept", "X-Cache"])
            let partial = try await h.get("/page", [("Range", "bytes=0-4")])
            #expect(partial.status == 206 && partial.text == "hello")
            #expect(partial.header("Server") == nil && partial.header("X-Powered-By") == nil)
            #expect(partial.header("X-Kept") == "1")
            _ = try await h.get("/again")
            let again = try await h.get("/again")
            #expect(again.header("Cache-Status")?.hasPrefix("Shellac; hit") == true)
            #expect(again.headers.filter { $0.0.lowercased() == "server" }.map(\.1) == ["edge"])
            _ = try await h.get("/long")
            let longHit = try await h.get("/long")
            #expect(longHit.header("Cache-Status")?.hasPrefix("Shellac; hit") == true)
            #expect(longHit.header("Server") == nil && longHit.header("X-Filler-69") == "v")
            #expect(longHit.header("X-Cache") == "seen")
        }
    }

    @Test func backendErrorMakesThePageForAnUnreachableBackend() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "1"; }
        sub vcl_backend_error {
            set beresp.http.Content-Type = "text/plain";
            synthetic("sorry, " + beresp.status + " " + beresp.reason);
            return (deliver);
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
            let response = try await h.get("/")
            #expect(response.status == 503)
            #expect(response.text == "sorry, 503 Backend fetch failed")
            #expect(response.header("Content-Type") == "text/plain")
        }
    }

    /// vcl_backend_error's page goes through vcl_deliver, as in Varnish: its headers are added
    /// there, and the usual fallback (restart on a 503 to another backend) works.
    @Test func backendErrorPagesGoThroughDeliver() async throws {
        let vcl = """
        vcl 4.1;
        backend dead { .host = "127.0.0.1"; .port = "1"; }
        backend good { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv {
            set req.backend_hint = dead;
            if (req.restarts > 0) { set req.backend_hint = good; }
        }
        sub vcl_backend_error {
            set beresp.http.Content-Type = "text/plain";
            synthetic("sorry");
            return (deliver);
        }
        sub vcl_deliver {
            set resp.http.X-Delivered = resp.status + " after " + req.restarts;
            if (resp.status == 503 && req.restarts == 0 && req.url == "/fallback") { return (restart); }
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("from the good one") }) { h in
            let failed = try await h.get("/")
            #expect(failed.status == 503 && failed.text == "sorry")
            #expect(failed.header("X-Delivered") == "503 after 0")
            let fellBack = try await h.get("/fallback")
            #expect(fellBack.status == 200 && fellBack.text == "from the good one")
            #expect(fellBack.header("X-Delivered") == "200 after 1")
        }
    }

    @Test func reloadSwitchesTheVCLAndKeepsTheCache() async throws {
        let first = "vcl 4.1;\nbackend b { .host = \"127.0.0.1\"; .port = \"ORIGIN_PORT\"; }\n"
            + "sub vcl_deliver { set resp.http.X-VCL = \"one\"; }\n"
        try await withHarness(vcl: first, script: { _ in .ok("cached") }) { h in
            #expect(try await h.get("/").header("X-VCL") == "one")
            let second = try loadVCL("vcl 4.1;\nbackend b { .host = \"127.0.0.1\"; .port = \"\(h.origin.port)\"; }\n"
                                     + "sub vcl_deliver { set resp.http.X-VCL = \"two\"; }\n")
            try h.server.use(second, name: "two")
            let after = try await h.get("/")
            #expect(after.header("X-VCL") == "two")
            #expect(after.header("Cache-Status")?.contains("hit") == true)
            #expect(h.origin.requestCount == 1)
            #expect(h.server.activeVCL.name == "two")
        }
    }

    /// Reloads (SIGHUP) each get a name of their own, and only the last one before the VCL in
    /// use stays loaded with it: a daemon reloaded for months does not keep every program.
    @Test func reloadsKeepOnlyTheOneBefore() async throws {
        let vcl = "vcl 4.1;\nbackend b { .host = \"127.0.0.1\"; .port = \"ORIGIN_PORT\"; }\n"
        try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
            let program = try loadVCL(vcl.replacingOccurrences(of: "ORIGIN_PORT", with: "\(h.origin.port)"))
            try h.server.use(program, name: "mine")  // loaded by hand: the reloads leave it alone
            var names: [String] = []
            for _ in 0..<5 { names.append(try h.server.reload(program)) }
            #expect(Set(names).count == 5, "\(names)")
            #expect(h.server.activeVCL.name == names[4])
            #expect(h.server.loadedVCLs == ["boot", "mine", names[3], names[4]])
            #expect(try await h.get("/").text == "x")
        }
    }

    @Test func hashAndHitDecisionsComeFromTheVCL() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv {
            if (req.http.X-Refresh) { set req.hash_always_miss = true; }
            return (hash);
        }
        sub vcl_hash { hash_data(regsub(req.url, "\\?.*$", "")); return (lookup); }
        sub vcl_hit { if (req.http.X-Bypass) { return (pass); } }
        """
        try await withHarness(vcl: vcl, script: { request in .ok("v\(request.target)") }) { h in
            _ = try await h.get("/p?one")
            #expect(try await h.get("/p?two").text == "v/p?one", "the query string is not part of the key")
            #expect(try await h.get("/p?three", [("X-Bypass", "1")]).text == "v/p?three")
            #expect(try await h.get("/p?four", [("X-Refresh", "1")]).text == "v/p?four")
            #expect(try await h.get("/p").text == "v/p?four", "the forced miss refreshed the object")
            #expect(h.origin.requestCount == 3)
        }
    }

    /// Variants are told apart by the Vary that vcl_backend_response leaves, as in Varnish: a
    /// VCL adding a header to Vary (the usual device split) gets one variant per value, and one
    /// removing Vary gets one object for all. Shellac used the backend's Vary as it came, so the
    /// mobile page went to desktop clients.
    @Test func variantsFollowTheVaryTheVCLLeaves() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_backend_response {
            if (bereq.url == "/device") { set beresp.http.Vary = "X-Device"; }
            if (bereq.url == "/any") { unset beresp.http.Vary; }
        }
        """
        try await withHarness(vcl: vcl, script: { request in
            .ok("\(request.path):\(request.header("X-Device") ?? "none")",
                [("Cache-Control", "max-age=60"), ("Vary", "X-Lang")])
        }) { h in
            #expect(try await h.get("/device", [("X-Device", "mobile")]).text == "/device:mobile")
            let desktop = try await h.get("/device", [("X-Device", "desktop")])
            #expect(desktop.text == "/device:desktop")
            #expect(desktop.header("Vary") == "X-Device")
            #expect(try await h.get("/device", [("X-Device", "mobile")]).text == "/device:mobile")
            #expect(h.origin.count(path: "/device") == 2)

            #expect(try await h.get("/any", [("X-Lang", "en"), ("X-Device", "a")]).text == "/any:a")
            #expect(try await h.get("/any", [("X-Lang", "fr"), ("X-Device", "b")]).text == "/any:a")
            #expect(h.origin.count(path: "/any") == 1)
        }
    }

    /// A ban made while a fetch for a URL it covers is under way applies to the object that
    /// fetch stores, as in Varnish, and a request after the ban does not wait on that fetch. The
    /// object was marked checked against every ban made before it was stored, and served until
    /// it expired; requests after the ban took the earlier fetch's answer.
    @Test func aBanMadeWhileAFetchRunsAppliesToItsObject() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv { if (req.url == "/ban") { ban("req.url ~ ^/page"); return (synth(200, "Banned")); } }
        """
        let served = Counter()
        try await withHarness(vcl: vcl, script: { _ in
            .ok("v\(served.next())", [("Cache-Control", "max-age=60")], delayMilliseconds: 300)
        }) { h in
            async let first = h.get("/page")
            // The ban goes in once the origin has the request (it answers 300 ms later).
            let fetching = try await eventually { h.origin.requestCount == 1 }
            #expect(fetching)
            let ban = try await h.get("/ban")
            #expect(ban.status == 200)
            // Asked while the fetch from before the ban still runs: not a waiter on it.
            let during = try await h.get("/page")
            #expect(during.text == "v1", "a request after the ban does not wait on the earlier fetch")
            let firstText = try await first.text
            #expect(firstText == "v0")
            let after = try await h.get("/page")
            #expect(after.text == "v1", "the object stored from before the ban is banned; the newer one stays")
            #expect(h.origin.requestCount == 2)
        }
    }

    /// The lurker-friendly ban of Varnish's docs: on a header the object carries, tested in the
    /// background, so the matching objects go and the ban is dropped with no request for them.
    @Test func anObjectBanIsAppliedInTheBackground() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv {
            if (req.method == "BAN") {
                ban("obj.http.X-Section == " + req.http.X-Section);
                return (synth(200, "Banned"));
            }
        }
        """
        try await withHarness(parameters: ["expiry_interval=0.05s"], vcl: vcl, script: { request in
            .ok("page", [("Cache-Control", "max-age=600"),
                         ("X-Section", request.path.hasPrefix("/news") ? "news" : "other")])
        }) { h in
            for path in ["/news/1", "/news/2", "/about"] { _ = try await h.get(path) }
            #expect(h.server.store.objects == 3)
            let ban = try await h.get("/", [("X-Section", "news")], method: "BAN")
            #expect(ban.status == 200)
            #expect(try await eventually { h.server.store.objects == 1 && h.server.store.banList.isEmpty })
            #expect(h.server.store.banned == 2)
            #expect(try await h.get("/about").text == "page")
            #expect(h.origin.requestCount == 3, "/about was still cached")
        }
    }

    /// Bans on req.* wait for lookups; past ban_cutoff, objects not checked against the oldest
    /// go, and the list stays that short.
    @Test func theBanListStaysWithinTheCutoff() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_recv {
            if (req.method == "BAN") { ban("req.url ~ " + req.http.X-Ban-Url); return (synth(200, "Banned")); }
        }
        """
        try await withHarness(parameters: ["expiry_interval=0.05s", "ban_cutoff=5"], vcl: vcl, script: { _ in
            .ok("page", [("Cache-Control", "max-age=600")])
        }) { h in
            _ = try await h.get("/cold")
            for index in 0..<20 {
                _ = try await h.get("/", [("X-Ban-Url", "^/nothing/\(index)$")], method: "BAN")
            }
            #expect(try await eventually { h.server.store.banList.count <= 5 })
            #expect(h.server.store.objects == 0 && h.server.store.cutOff == 1)
            _ = try await h.get("/cold")
            #expect(h.origin.count(path: "/cold") == 2)
        }
    }
}

/// A counter scripts can share across event loops.
final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock { count in
            defer { count += 1 }
            return count
        }
    }
}
