// Several backends over loopback: directors spreading, falling back and sticking; health probes
// detecting a failing or stopped origin and its return; passive health; .max_connections
// queueing and refusing; a backend on a Unix socket.

import Foundation
import NIOCore
import ShellacServer
import ShellacTestSupport
import Synchronization
import Testing

/// Origins named a, b, c… each answering with its own name.
func namedOrigins(_ names: [String], script: (@Sendable (String, OriginRequest) -> OriginAction)? = nil)
    async throws -> [TestOrigin] {
    var origins: [TestOrigin] = []
    for name in names {
        origins.append(try await TestOrigin { request in
            script?(name, request) ?? .ok("from \(name)", [("Cache-Control", "no-store")])
        })
    }
    return origins
}

func backendDeclarations(_ origins: [TestOrigin], names: [String], extra: String = "") -> String {
    zip(names, origins).map { name, origin in
        "backend \(name) { .host = \"127.0.0.1\"; .port = \"\(origin.port)\"; \(extra) }"
    }.joined(separator: "\n")
}

/// A VCL passing every request to a round-robin of `members`, after `declarations` and the
/// named origins' backends.
func roundRobinVCL(_ origins: [TestOrigin], names: [String], members: [String], declarations: String,
                   more: String = "") -> String {
    """
    vcl 4.1;
    import directors;
    \(declarations)
    \(backendDeclarations(origins, names: names))
    sub vcl_init { new rr = directors.round_robin(); \(members.map { "rr.add_backend(\($0));" }.joined(separator: " ")) }
    sub vcl_recv { set req.backend_hint = rr.backend(); return (pass); }
    \(more)
    """
}

func status(_ h: Harness, _ name: String) -> BackendStatus? {
    h.server.backendStatus.first { $0.name == name }
}

func isHealthy(_ h: Harness, _ name: String) -> Bool? { status(h, name)?.healthy }

@Suite(.timeLimit(.minutes(1))) struct DirectorEndToEndTests {
    @Test func roundRobinSpreadsEvenly() async throws {
        let names = ["a", "b", "c"]
        let origins = try await namedOrigins(names)
        let vcl = roundRobinVCL(origins, names: names, members: names,
                                declarations: "backend unused_default { .host = \"127.0.0.1\"; .port = \"ORIGIN_PORT\"; }")
        try await withHarness(vcl: vcl, script: { _ in .ok("default") }) { h in
            var seen: [String: Int] = [:]
            for n in 0..<30 { seen[try await h.get("/\(n)").text, default: 0] += 1 }
            #expect(seen == ["from a": 10, "from b": 10, "from c": 10])
            #expect(h.origin.requestCount == 0)
        }
        for origin in origins { await origin.stop() }
    }

    /// A director is picked from at each attempt, as in Varnish: a retry after a backend that
    /// refused the connection goes to the round-robin's next member. bereq.backend names the
    /// director, beresp.backend.name the member that answered.
    @Test func aRetryAsksTheDirectorAgain() async throws {
        let names = ["a", "b"]
        let origins = try await namedOrigins(names)
        let vcl = roundRobinVCL(origins, names: names, members: ["dead"] + names,
                                declarations: "backend dead { .host = \"127.0.0.1\"; .port = \"1\"; }", more: """
            sub vcl_backend_error { if (bereq.retries < 1) { return (retry); } }
            sub vcl_backend_response {
                set beresp.http.X-Via = bereq.backend + " " + beresp.backend.name + " " + bereq.retries;
            }
            """)
        try await withHarness(vcl: vcl, script: { _ in .ok("default") }) { h in
            // dead (refused, retried on a), b, dead (retried on a), b, …: never an error page.
            var answers: [String] = []
            for n in 0..<4 {
                let response = try await h.get("/\(n)")
                #expect(response.status == 200)
                answers.append("\(response.text) \(response.header("X-Via") ?? "-")")
            }
            #expect(answers == ["from a rr a 1", "from b rr b 0", "from a rr a 1", "from b rr b 0"])
        }
        for origin in origins { await origin.stop() }
    }

    @Test func hashSticksAKeyToABackend() async throws {
        let names = ["a", "b", "c"]
        let origins = try await namedOrigins(names)
        let vcl = """
        vcl 4.1;
        import directors;
        \(backendDeclarations(origins, names: names))
        sub vcl_init { new h = directors.hash(); h.add_backend(a, 1); h.add_backend(b, 1); h.add_backend(c, 1); }
        sub vcl_recv { set req.backend_hint = h.backend(req.http.X-User); return (pass); }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("default") }) { h in
            var byUser: [String: Set<String>] = [:]
            for round in 0..<3 {
                for user in 0..<12 {
                    let answer = try await h.get("/page\(round)", [("X-User", "user-\(user)")]).text
                    byUser["user-\(user)", default: []].insert(answer)
                }
            }
            #expect(byUser.values.allSatisfy { $0.count == 1 }, "each user always reaches the same backend")
            #expect(Set(byUser.values.flatMap { $0 }).count == 3, "users spread over all backends")
        }
        for origin in origins { await origin.stop() }
    }
}

@Suite(.timeLimit(.minutes(1))) struct HealthProbeTests {
    /// Probes every 50 ms; healthy with 2 good of the last 3.
    static let probe = "probe quick { .url = \"/health\"; .interval = 50ms; .timeout = 200ms; .window = 3; "
        + ".threshold = 2; .initial = 2; }"

    @Test func aFailingOriginIsSkippedUntilItsProbesPassAgain() async throws {
        let failing = Mutex(false)
        let origins = try await namedOrigins(["a", "b"]) { name, request in
            if request.path == "/health" {
                return name == "a" && failing.withLock({ $0 }) ? .ok("down", status: 500) : .ok("up")
            }
            return .ok("from \(name)", [("Cache-Control", "no-store")])
        }
        // b's probe is written as a whole request (.request), a's as a URL.
        let vcl = """
        vcl 4.1;
        import directors;
        \(Self.probe)
        probe whole { .request = "GET /health HTTP/1.1" "Host: b.internal" "Connection: close"; .interval = 50ms;
                      .timeout = 200ms; .window = 3; .threshold = 2; .initial = 2; }
        backend a { .host = "127.0.0.1"; .port = "\(origins[0].port)"; .probe = quick; }
        backend b { .host = "127.0.0.1"; .port = "\(origins[1].port)"; .probe = whole; }
        sub vcl_init { new fb = directors.fallback(); fb.add_backend(a); fb.add_backend(b); }
        sub vcl_recv { set req.backend_hint = fb.backend(); return (pass); }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
            let reached1 = try await eventually { origins[0].count(path: "/health") >= 2 }
            #expect(reached1)
            let probedByRequest = try await eventually {
                origins[1].requests.contains { $0.path == "/health" && $0.header("Host") == "b.internal" }
            }
            #expect(probedByRequest, "a .request probe sends its lines as written")
            let response1 = try await h.get("/")
            #expect(response1.text == "from a", "the first healthy backend of the fallback")
            failing.withLock { $0 = true }
            let reached2 = try await eventually { isHealthy(h, "a") == false }
            #expect(reached2)
            let response2 = try await h.get("/")
            #expect(response2.text == "from b")
            let window = status(h, "a")?.probeWindow ?? ""
            #expect(window.hasSuffix("--"), "the probe window shows the failures: '\(window)'")
            failing.withLock { $0 = false }
            let reached3 = try await eventually { isHealthy(h, "a") == true }
            #expect(reached3)
            let response3 = try await h.get("/")
            #expect(response3.text == "from a")
        }
        for origin in origins { await origin.stop() }
    }

    @Test func aStoppedOriginIsDetectedAndGraceServesStale() async throws {
        let origin = try await TestOrigin { request in
            request.path == "/health" ? .ok("up") : .ok("fresh", [("Cache-Control", "max-age=1")])
        }
        let vcl = """
        vcl 4.1;
        \(Self.probe)
        backend app { .host = "127.0.0.1"; .port = "\(origin.port)"; .probe = quick; }
        sub vcl_backend_response { set beresp.grace = 1h; }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
            let response4 = try await h.get("/page")
            #expect(response4.text == "fresh")
            await origin.stop()
            let reached4 = try await eventually { isHealthy(h, "app") == false }
            #expect(reached4)
            try await Task.sleep(for: .milliseconds(1100))  // the object's one-second TTL runs out
            let stale = try await h.get("/page")
            #expect(stale.text == "fresh", "a sick backend is not tried: the stale copy answers")
            #expect(stale.header("Cache-Status")?.contains("fwd=stale") == true)
            let response5 = try await h.get("/other")
            #expect(response5.status == 503)
        }
    }

    @Test func repeatedConnectionFailuresMarkABackendSick() async throws {
        try await withRefusingPort { port in
            let vcl = "vcl 4.1;\nbackend gone { .host = \"127.0.0.1\"; .port = \"\(port)\"; }\n"
            try await withHarness(parameters: ["backend_failure_threshold=3", "backend_sick_retry=30s"], vcl: vcl,
                                  script: { _ in .ok("x") }) { h in
                for _ in 0..<3 {
                    let refused = try await h.get("/x")
                    #expect(refused.status == 503)
                }
                let status = try #require(h.server.backendStatus.first)
                #expect(!status.healthy)
                #expect(status.passivelySick)
                let failedConnects = h.server.statistics.first { $0.0 == "backend_fail" }?.1
                let response6 = try await h.get("/x")
                #expect(response6.status == 503)
                #expect(h.server.statistics.first { $0.0 == "backend_fail" }?.1 == failedConnects,
                        "a sick backend is not even tried")
                h.server.setBackendHealth(.healthy, backend: "gone")
                #expect(h.server.backendStatus.first?.healthy == true)
                h.server.setBackendHealth(.auto, backend: "gone")
                #expect(h.server.backendStatus.first?.healthy == false)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct BackendLimitTests {
    @Test func backendResponseHeadsAreBoundedByTheirParameters() async throws {
        let script: TestOrigin.Script = { request in
            switch request.path {
            case "/long-line": .ok("x", [("Cache-Control", "no-store"), ("X-Big", String(repeating: "a", count: 2_000))])
            case "/many": .ok("x", [("Cache-Control", "no-store")] + (0..<20).map { ("X-F\($0)", "v") })
            default: .ok("x", [("Cache-Control", "no-store"), ("X-Head", String(repeating: "b", count: 2_500))])
            }
        }
        try await withHarness(script: script) { h in
            for path in ["/long-line", "/many", "/big-head"] {
                let status = try await h.get(path).status
                #expect(status == 200, "\(path)")
            }
        }
        try await withHarness(parameters: ["http_resp_hdr_len=1k", "http_max_hdr=16", "http_resp_size=2k"],
                              script: script) { h in
            for path in ["/long-line", "/many", "/big-head"] {
                let status = try await h.get(path).status
                #expect(status == 502, "\(path)")
            }
        }
    }

    @Test func maxConnectionsQueuesFetchesInOrder() async throws {
        let arrivals = Mutex<[ContinuousClock.Instant]>([])
        let origin = try await TestOrigin { _ in
            arrivals.withLock { $0.append(.now) }
            return .ok("slow", [("Cache-Control", "no-store")], delayMilliseconds: 150)
        }
        let vcl = """
        vcl 4.1;
        backend app { .host = "127.0.0.1"; .port = "\(origin.port)"; .max_connections = 1; }
        sub vcl_recv { return (pass); }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<3 { group.addTask { try await h.get("/\(n)").status } }
                for try await status in group { #expect(status == 200) }
            }
            let times = arrivals.withLock { $0 }
            #expect(times.count == 3)
            for (earlier, later) in zip(times, times.dropFirst()) {
                #expect(later - earlier >= .milliseconds(140), "one request at a time reaches the backend")
            }
            #expect((h.server.statistics.first { $0.0 == "backend_wait" }?.1 ?? 0) >= 1)
        }
        await origin.stop()
    }

    @Test func aFullWaitQueueRefusesAtOnce() async throws {
        // The first fetch holds the only slot for 1.5 s: time enough for the second request to
        // find it taken even while a cold test binary starts every suite at once.
        let origin = try await TestOrigin { _ in .ok("slow", [("Cache-Control", "no-store")], delayMilliseconds: 1500) }
        let vcl = """
        vcl 4.1;
        backend app { .host = "127.0.0.1"; .port = "\(origin.port)"; .max_connections = 1; }
        sub vcl_recv { return (pass); }
        """
        try await withHarness(parameters: ["backend_wait_max=0"], vcl: vcl, script: { _ in .ok("x") }) { h in
            async let first = h.get("/1")
            let reached5 = try await eventually { origin.requestCount == 1 }
            #expect(reached5)
            let refused = try await h.get("/2")
            #expect(refused.status == 503)
            let response7 = try await first
            #expect(response7.status == 200)
            #expect(h.server.statistics.first { $0.0 == "backend_busy" }?.1 == 1)
            let response8 = try await h.get("/3")
            #expect(response8.status == 200, "the slot was given back")
        }
        await origin.stop()
    }

    @Test func aBackendOnAUnixSocket() async throws {
        let path = NSTemporaryDirectory() + "shellac-app-\(getpid())-\(Int.random(in: 0..<1_000_000)).sock"
        defer { unlink(path) }
        let origin = try await TestOrigin(unixSocket: path) { request in
            .ok("over the socket \(request.path)", [("Cache-Control", "max-age=60")])
        }
        let vcl = "vcl 4.1;\nbackend gunicorn { .path = \"\(path)\"; }\n"
        try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
            let response9 = try await h.get("/u")
            #expect(response9.text == "over the socket /u")
            let response10 = try await h.get("/u")
            #expect(response10.header("Cache-Status")?.contains("hit") == true)
            #expect(origin.requestCount == 1)
        }
        await origin.stop()
    }
}


@Suite(.timeLimit(.minutes(1))) struct BackendAddressTests {
    /// `.host_header` is sent only when the request has no Host of its own (an HTTP/1.0 client).
    @Test func aBackendsHostHeaderFillsInAMissingHost() async throws {
        let vcl = """
        vcl 4.1;
        backend app { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; .host_header = "app.internal"; }
        sub vcl_recv { return (pass); }
        """
        try await withHarness(vcl: vcl, script: { request in
            .ok("host=" + (request.header("Host") ?? "none"), [("Cache-Control", "no-store")])
        }) { h in
            let c = try await h.client()
            try await c.send("GET /old HTTP/1.0\r\n\r\n")
            #expect(try await c.readResponse().text == "host=app.internal")
            await c.close()
            #expect(try await h.get("/new").text == "host=example.com")
        }
    }

    /// The backend's host name first resolves to 127.0.0.1, then (the app moved) to 127.0.0.2,
    /// where another origin listens on the same port: new fetches follow without a reload.
    @Test func aHostNameIsFollowedWhenItsAddressChanges() async throws {
        let old = try await TestOrigin { _ in .ok("old home", [("Cache-Control", "no-store")]) }
        let new = try await TestOrigin(host: "127.0.0.2", port: old.port) { _ in
            .ok("new home", [("Cache-Control", "no-store")])
        }
        let moved = Mutex(false)
        let resolve: BackendResolver = { host, port in
            #expect(host == "app.internal")
            return try SocketAddress(ipAddress: moved.withLock { $0 } ? "127.0.0.2" : "127.0.0.1", port: port)
        }
        let vcl = "vcl 4.1;\nbackend app { .host = \"app.internal\"; .port = \"\(old.port)\"; }\n"
        try await withHarness(parameters: ["backend_dns_interval=50ms"], vcl: vcl, resolve: resolve,
                              script: { _ in .ok("x") }) { h in
            let before = try await h.get("/")
            #expect(before.text == "old home")
            moved.withLock { $0 = true }
            let followed = try await eventually { (try? await h.get("/").text) == "new home" }
            #expect(followed)
        }
        await old.stop()
        await new.stop()
    }
}

/// A loopback listener that never accepts, its queue filled by one connection of its own: a
/// connection attempt to it gets no answer (Linux drops the SYN), so only a connect timeout ends it.
final class UnansweringListener {
    let port: Int
    private let listener: Int32
    private let filler: Int32

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(listener, address, length) == 0 && listen(listener, 0) == 0
                    && getsockname(listener, address, &length) == 0 && connect(filler, address, length) == 0
            }
        }
        self.listener = listener
        self.filler = filler
        port = Int(UInt16(bigEndian: address.sin_port))
        guard ready else {
            close()
            throw POSIXError(.EADDRNOTAVAIL)
        }
    }

    func close() {
        _ = Glibc.close(filler)
        _ = Glibc.close(listener)
    }
}

@Suite(.timeLimit(.minutes(1))) struct BackendTimeoutVCLTests {
    /// bereq.*_timeout read the parameters until VCL sets them (as in Varnish 7, not 0), and
    /// `set bereq.connect_timeout` bounds the connection attempt of a fetch and of a pipe (it was
    /// read, then ignored).
    @Test func vclReadsAndSetsTheBackendTimeouts() async throws {
        let hole = try UnansweringListener()
        defer { hole.close() }
        let vcl = """
        vcl 4.1;
        backend app { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        backend hole { .host = "127.0.0.1"; .port = "\(hole.port)"; }
        sub vcl_recv {
            if (req.url == "/hole") { set req.backend_hint = hole; }
            if (req.method == "TUNNEL") { return (pipe); }
            return (pass);
        }
        sub vcl_pipe {
            if (bereq.connect_timeout == 2s) { set bereq.connect_timeout = 0.2s; }
        }
        sub vcl_backend_fetch {
            set bereq.http.X-Read = bereq.connect_timeout + " " + bereq.first_byte_timeout + " "
                + bereq.between_bytes_timeout;
            if (bereq.url == "/set") { set bereq.first_byte_timeout = 5s; set bereq.between_bytes_timeout = -1s; }
            set bereq.http.X-Set = bereq.first_byte_timeout + " " + bereq.between_bytes_timeout;
            if (bereq.backend == hole) { set bereq.connect_timeout = 0.2s; }
        }
        """
        try await withHarness(parameters: ["connect_timeout=2s"], vcl: vcl, script: { request in
            .ok((request.header("X-Read") ?? "-") + " | " + (request.header("X-Set") ?? "-"),
                [("Cache-Control", "no-store")])
        }) { h in
            #expect(try await h.get("/read").text == "2.000 60.000 60.000 | 60.000 60.000")
            #expect(try await h.get("/set").text == "2.000 60.000 60.000 | 5.000 0.000")
            // Two seconds by the parameter; the VCL's 0.2 s ends the attempt well before.
            let started = ContinuousClock.now
            let refused = try await h.get("/hole")
            #expect(refused.status == 503)
            #expect(ContinuousClock.now - started < .milliseconds(1_500), "bereq.connect_timeout applied")
            // vcl_pipe reads the parameter and sets its own limit on the tunnel's connection.
            let pipeStarted = ContinuousClock.now
            let tunnel = try await h.get("/hole", method: "TUNNEL")
            #expect(tunnel.status == 503)
            #expect(ContinuousClock.now - pipeStarted < .milliseconds(1_500), "bereq.connect_timeout in vcl_pipe")
        }
    }
}
