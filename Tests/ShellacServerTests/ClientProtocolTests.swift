// p: the client side of HTTP/1.1 over real sockets — rejected framing, pipelining, limits,
// timeouts, Expect, request bodies, HTTP/1.0, half-close, and draining on shutdown.

@testable import ShellacServer
import ShellacTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct ClientProtocolTests {
    static let rejected: [(String, String, Int)] = [
        ("CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("two CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", 400),
        ("non-numeric CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4x\r\n\r\n", 400),
        ("TE not chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501),
        ("bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nnope\r\n", 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n", 400),
        ("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\u{0}2\r\n\r\n", 400),
        ("no Host", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("invalid Host", "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", 400),
    ]

    @Test(arguments: rejected)
    func ambiguousFramingIsRejectedAndTheConnectionClosed(name: String, request: String, status: Int) async throws {
        try await withHarness(script: { _ in .ok("x") }) { h in
            let c = try await h.client()
            // A smuggled request follows the bad one in the same write: it must never be parsed.
            try await c.send(request + "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try await c.readResponse()
            #expect(response.status == status, "\(name)")
            #expect(response.header("Connection") == "close")
            let rest = try await c.readUntilClose(seconds: 2)
            #expect(rest.isEmpty, "\(name): nothing after the rejection")
            #expect(h.origin.requestCount == 0, "\(name)")
            #expect(h.server.counters[.clientBadRequests] == 1)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withHarness(script: { request in
            .ok("body of \(request.path)", delayMilliseconds: request.path == "/slow" ? 100 : 0)
        }) { h in
            let c = try await h.client()
            try await c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\n"
                + "HEAD /fast HTTP/1.1\r\nHost: a\r\n\r\nGET /third HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readResponse().text == "body of /slow")
            #expect(try await c.readResponse().text == "body of /fast")
            let head = try await c.readResponse(forHEAD: true)
            #expect(head.status == 200 && head.body.isEmpty)
            #expect(try await c.readResponse().text == "body of /third")
            await c.close()
        }
    }

    @Test func keepAliveAndConnectionClose() async throws {
        try await withHarness(script: { _ in .ok("k") }) { h in
            let c = try await h.client()
            for _ in 0..<3 {
                try await c.send("GET /k HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try await c.readResponse().text == "k")
            }
            try await c.send("GET /k HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            let last = try await c.readResponse()
            #expect(last.header("Connection") == "close")
            _ = try await c.readUntilClose(seconds: 2)
        }
    }

    @Test func http10IsServedAndClosedUnlessKeepAliveIsAsked() async throws {
        try await withHarness(script: { _ in .ok("old") }) { h in
            let c = try await h.client()
            try await c.send("GET /old HTTP/1.0\r\n\r\n")
            #expect(try await c.readResponse().text == "old")
            _ = try await c.readUntilClose(seconds: 2)
            let k = try await h.client()
            try await k.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = try await k.readResponse()
            #expect(response.header("Connection") == "keep-alive")
            try await k.send("GET /old HTTP/1.0\r\n\r\n")
            #expect(try await k.readResponse().text == "old")
            await k.close()
        }
    }

    @Test func http10ClientGetsABodyOfUnknownLengthDelimitedByClose() async throws {
        try await withHarness(script: { _ in
            .raw("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                 close: false)
        }) { h in
            let c = try await h.client()
            try await c.send("GET /u HTTP/1.0\r\n\r\n")
            let response = try await c.readResponse(seconds: 3)
            #expect(response.text == "hello")
            #expect(response.header("Transfer-Encoding") == nil, "no chunked coding for an HTTP/1.0 client")
            #expect(response.header("Connection") == "close")
            #expect(c.isClosed)
        }
    }

    @Test func limitsAnswer431And414AndClose() async throws {
        try await withHarness(parameters: ["http_req_size=2k", "http_url_len=256", "http_max_hdr=10"],
                              script: { _ in .ok("x") }) { h in
            let cases = [
                ("GET /\(String(repeating: "u", count: 300)) HTTP/1.1\r\nHost: a\r\n\r\n", 414),
                ("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "v", count: 3000))\r\n\r\n", 431),
                ("GET / HTTP/1.1\r\nHost: a\r\n" + (0..<12).map { "X-\($0): 1\r\n" }.joined() + "\r\n", 431),
            ]
            for (request, status) in cases {
                let c = try await h.client()
                try await c.send(request)
                #expect(try await c.readResponse().status == status)
                _ = try await c.readUntilClose(seconds: 2)
            }
        }
    }

    @Test func requestBodyOverTheCapGets413() async throws {
        try await withHarness(parameters: ["http_req_body_max=1k"], script: { _ in .ok("x") }) { h in
            let c = try await h.client()
            try await c.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
            #expect(try await c.readResponse().status == 413)
            _ = try await c.readUntilClose(seconds: 2)
            #expect(h.origin.requestCount == 0)
        }
    }

    @Test func slowlorisHeadTimesOutWhileOthersAreServed() async throws {
        try await withHarness(parameters: ["timeout_req=0.3s"], script: { _ in .ok("fast") }) { h in
            let slow = try await h.client()
            try await slow.send("GET / HTTP/1.1\r\nHost: a\r\n")
            // Trickle a header line; the deadline counts from the first byte, not the last.
            try await slow.send("X-A: 1\r\n")
            let other = try await h.get("/other")
            #expect(other.text == "fast")
            let response = try await slow.readResponse(seconds: 3)
            #expect(response.status == 408)
            _ = try await slow.readUntilClose(seconds: 2)
        }
    }

    @Test func idleKeepAliveConnectionsAreClosed() async throws {
        // 2 s: the idle time starts when the connection is accepted, and on a machine busy with
        // the rest of the suite the request has been seen to come more than 1 s after that.
        try await withHarness(parameters: ["timeout_idle=2s"], script: { _ in .ok("x") }) { h in
            let c = try await h.client()
            try await c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            _ = try await c.readResponse()
            _ = try await c.readUntilClose(seconds: 8)  // idle after 2 s; room for a busy machine
        }
    }

    /// The idle deadline moves with every request: a connection asking again before it comes is
    /// kept past its first deadline; one that connects and says nothing is closed too.
    @Test func requestsKeepAConnectionPastItsFirstIdleDeadline() async throws {
        // Requests 1.25 s apart against a 4 s timeout: room for a machine busy with the rest of
        // the suite.
        try await withHarness(parameters: ["timeout_idle=4s"], script: { _ in .ok("x") }) { h in
            let silent = try await h.client()
            let c = try await h.client()
            for _ in 0..<4 {
                try await c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try await c.readResponse().text == "x")
                try await Task.sleep(for: .milliseconds(1250))
            }
            // 5 s in, past the first deadline: still open, and answering.
            try await c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readResponse().text == "x")
            _ = try await c.readUntilClose(seconds: 12)
            _ = try await silent.readUntilClose(seconds: 2)
        }
    }

    @Test func chunkedRequestBodyIsStreamedToTheBackend() async throws {
        try await withHarness(script: { request in .ok("got \(request.body.count)", [("Cache-Control", "no-store")]) }) { h in
            let c = try await h.client()
            try await c.send("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            try await c.send("6\r\n world\r\n0\r\n\r\n")
            #expect(try await c.readResponse().text == "got 11")
            let seen = try #require(h.origin.requests.first)
            #expect(seen.method == "POST")
            #expect(String(decoding: seen.body, as: UTF8.self) == "hello world")
            try await c.send("PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
            #expect(try await c.readResponse().text == "got 3")
            await c.close()
        }
    }

    @Test func largeRequestBodiesStreamThroughIntact() async throws {
        try await withHarness(script: { request in
            let sum = request.body.reduce(0) { ($0 &+ Int($1)) & 0xFFFF_FFFF }
            return .ok("\(request.body.count) \(sum)", [("Cache-Control", "no-store")])
        }) { h in
            let size = 8 * 1024 * 1024
            let body = String((0..<size).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
            let sum = body.utf8.reduce(0) { ($0 &+ Int($1)) & 0xFFFF_FFFF }
            let c = try await h.client()
            try await c.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: \(size)\r\n\r\n")
            try await c.send(body)
            #expect(try await c.readResponse(seconds: 20).text == "\(size) \(sum)")
            // And chunked, in several writes.
            try await c.send("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            let piece = String(body.prefix(1 << 20))
            for _ in 0..<4 { try await c.send(String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n") }
            try await c.send("0\r\n\r\n")
            let pieceSum = piece.utf8.reduce(0) { ($0 &+ Int($1)) & 0xFFFF_FFFF }
            #expect(try await c.readResponse(seconds: 20).text == "\(4 << 20) \((pieceSum * 4) & 0xFFFF_FFFF)")
            await c.close()
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() async throws {
        try await withHarness(script: { request in .ok("got \(request.body.count)", [("Cache-Control", "no-store")]) }) { h in
            let c = try await h.client()
            try await c.send("POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            #expect(try await c.readResponse().status == 100)
            try await c.send("data")
            #expect(try await c.readResponse().text == "got 4")
            await c.close()
        }
    }

    @Test func unknownExpectationGets417() async throws {
        try await withHarness(script: { _ in .ok("x") }) { h in
            let response = try await h.get("/e", [("Expect", "teapot")])
            #expect(response.status == 417)
        }
    }

    @Test func halfClosedClientStillGetsItsAnswers() async throws {
        try await withHarness(script: { request in .ok("for \(request.path)") }) { h in
            let c = try await h.client()
            try await c.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
            try await c.shutdownOutput()
            #expect(try await c.readResponse().text == "for /1")
            #expect(try await c.readResponse().text == "for /2")
            _ = try await c.readUntilClose(seconds: 2)
        }
    }

    /// The builtin vcl_recv pipes methods it does not know: the backend answers them directly.
    @Test func unknownMethodIsPipedToTheBackend() async throws {
        try await withHarness(script: { request in .ok("piped \(request.method)", [("Cache-Control", "max-age=60")]) }) { h in
            let response = try await h.get("/dav", [("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"),
                                                    ("Keep-Alive", "timeout=5"), ("Upgrade", "h2c")],
                                           method: "PROPFIND")
            #expect(response.status == 200)
            #expect(response.text == "piped PROPFIND")
            let piped = try #require(h.origin.requests.first)
            #expect(piped.method == "PROPFIND")
            #expect(piped.header("X-Forwarded-For") == "127.0.0.1")
            // As in Varnish: hop-by-hop fields stay behind and the backend is told to close after
            // its answer, so nothing else the client sends reaches it past the VCL.
            #expect(piped.header("Connection") == "close")
            #expect(piped.header("X-Hop") == nil && piped.header("Keep-Alive") == nil && piped.header("Upgrade") == nil)
            #expect(h.server.statistics.first { $0.0 == "s_pipe" }?.1 == 1)
            // Nothing piped is cached.
            #expect(try await h.get("/dav", method: "PROPFIND").text == "piped PROPFIND")
            #expect(h.origin.requestCount == 2)
        }
    }

    @Test func shutdownLetsInFlightRequestsFinish() async throws {
        let harness = try await Harness.start { _ in .ok("finished", delayMilliseconds: 1000) }
        let c = try await harness.client()
        try await c.send("GET /inflight HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await eventually { harness.origin.requestCount == 1 })  // the request is in flight
        async let stopped: Void = harness.server.shutdown()
        let response = try await c.readResponse(seconds: 5)
        #expect(response.text == "finished")
        #expect(response.header("Connection") == "close")
        await stopped
        await harness.origin.stop()
        try? await harness.clients.shutdownGracefully()
    }
}

@Suite(.timeLimit(.minutes(1))) struct HostileClientTests {
    @Test func garbageAndAbruptClientsLeaveTheDaemonServing() async throws {
        try await withHarness(parameters: ["timeout_req=1s", "timeout_idle=1s"],
                              script: { _ in .ok(String(repeating: "x", count: 64 * 1024), delayMilliseconds: 5) }) { h in
            var rng = SystemRandomNumberGenerator()
            let valid = "GET /big HTTP/1.1\r\nHost: example.com\r\n\r\n"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    let kind = i % 4
                    let noise = (0..<Int.random(in: 1...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let cut = Int.random(in: 1..<valid.utf8.count, using: &rng)
                    group.addTask {
                        let c = try await h.client()
                        switch kind {
                        case 0: try await c.send(String(decoding: noise, as: UTF8.self))
                        case 1: try await c.send(String(valid.prefix(cut)))
                        case 2: try await c.send(valid)  // and leave mid-response
                        default: try await c.send(valid + String(decoding: noise, as: UTF8.self))
                        }
                        await c.close()
                    }
                }
                try await group.waitForAll()
            }
            let after = try await h.get("/big")
            #expect(after.status == 200)
            #expect(after.body.count == 64 * 1024)
            #expect(h.origin.count(path: "/big") == 1, "one fetch, however the clients behaved")
        }
    }
}

@Suite struct ConnectionLifetimeTests {
    @Test func closedConnectionsFreeTheirHandlers() async throws {
        try await withHarness(parameters: ["threads=1"], script: { _ in .ok("x", [("Cache-Control", "no-store")]) }) { h in
            // Hits, passes and a keep-alive connection with several requests, all closed again.
            for index in 0..<20 { _ = try await h.get(index.isMultiple(of: 2) ? "/pass" : "/static") }
            let client = try await h.client()
            for _ in 0..<3 {
                try await client.send("GET /pass HTTP/1.1\r\nHost: example.com\r\n\r\n")
                _ = try await client.readResponse()
            }
            await client.close()
            // A handler is freed once its pipeline lets go of it, just after the close.
            let deadline = ContinuousClock.now + .seconds(5)
            while h.server.services.liveClientHandlers.count > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let live = h.server.services.liveClientHandlers.count
            #expect(live == 0)
        }
    }

    /// An origin that closes its connection after every response (as app servers without
    /// keep-alive do): each backend connection's handler is freed once it closes.
    @Test func closedBackendConnectionsFreeTheirHandlers() async throws {
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nx"
        try await withHarness(parameters: ["threads=1"], script: { _ in .raw(response, close: true) }) { h in
            let client = try await h.client()
            for _ in 0..<20 {
                try await client.send("GET /pass HTTP/1.1\r\nHost: example.com\r\n\r\n")
                #expect(try await client.readResponse().text == "x")
            }
            await client.close()
            let deadline = ContinuousClock.now + .seconds(5)
            while h.server.services.liveBackendHandlers.count > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(h.origin.requests.count == 20)
            #expect(h.server.services.liveBackendHandlers.count == 0)
        }
    }
}
