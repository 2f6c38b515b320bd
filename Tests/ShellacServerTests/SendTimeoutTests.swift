// Clients behind on a response, over real sockets: a slow reader gets the whole of a large
// response however far past timeout_idle it takes; a client that stops reading is cut off after
// idle_send_timeout, on a hit and on a pass, and counted (sc_tx_error); pipelined requests wait
// while the client is not taking the answers before them.

import NIOCore
import ShellacTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct SendTimeoutTests {
    /// With a client's small receive buffer, more than the kernel's socket buffers on loopback
    /// hold, so part of it waits in the server.
    static let size = 6 << 20
    static let body = [UInt8](repeating: UInt8(ascii: "s"), count: size)

    static func origin(_ request: OriginRequest) -> OriginAction {
        let cacheControl = request.path == "/pass" ? "no-store" : "max-age=60"
        return .bytes(status: 200, headers: [("Cache-Control", cacheControl)], body: body)
    }

    @Test func aSlowReaderGetsAllOfALargeHitLongAfterTheIdleTimeout() async throws {
        try await withHarness(parameters: ["timeout_idle=2s"], budget: 256 << 20, script: Self.origin) { h in
            #expect(try await h.get("/hit").body.count == Self.size)
            #expect(try await eventually { h.server.statistics.contains { $0 == ("n_object", 1) } }, "stored")
            let socket = try RawSocket.connect(port: h.port, receiveBuffer: 4096)
            defer { socket.close() }
            socket.write("GET /hit HTTP/1.1\r\nHost: example.com\r\n\r\n")
            // The whole response is written at once and the request is over; the idle timer
            // used to close the connection with the rest of the body still unsent.
            try await Task.sleep(for: .seconds(3))
            let bodyBytes = await onOwnThread { socket.readBody() }
            #expect(h.origin.requestCount == 1, "a hit")
            #expect(bodyBytes == Self.size)
        }
    }

    @Test(arguments: ["/hit", "/pass"])
    func aClientThatStopsReadingIsCutOff(path: String) async throws {
        try await withHarness(parameters: ["idle_send_timeout=1s", "timeout_idle=30s"], budget: 256 << 20,
                              script: Self.origin) { h in
            if path == "/hit" { _ = try await h.get(path) }
            let c = try await RawClient.connect(port: h.port, group: h.clients, reading: false, receiveBuffer: 4096)
            try await c.send("GET \(path) HTTP/1.1\r\nHost: example.com\r\n\r\n")
            let counted = try await eventually {
                h.server.statistics.contains { $0 == ("sc_tx_error", 1) }
            }
            #expect(counted, "the stalled connection is closed and counted")
            #expect(h.origin.requestCount == 1, "one fetch: the warm-up's for the hit, the pass's own")
            try? await c.startReading()  // the reset may have closed the channel already
            let received = try await c.readUntilClose(seconds: 5)
            #expect(received.utf8.count < Self.size, "cut off, not sent in full")
            await c.close()
        }
    }

    /// A client pipelining requests without reading the answers has only as many answered as
    /// the sockets hold (it had every one answered into memory, without end); the rest are
    /// answered as it reads.
    @Test func pipelinedRequestsWaitForTheClientToTakeTheAnswersBeforeThem() async throws {
        let piece = [UInt8](repeating: UInt8(ascii: "p"), count: 1 << 20)
        try await withHarness(budget: 64 << 20, script: { _ in
            .bytes(status: 200, headers: [("Cache-Control", "max-age=60")], body: piece)
        }) { h in
            #expect(try await h.get("/piece").body.count == piece.count)
            #expect(try await eventually { h.server.statistics.contains { $0 == ("n_object", 1) } }, "stored")
            let requests = 16
            let c = try await RawClient.connect(port: h.port, group: h.clients, reading: false)
            try await c.send(String(repeating: "GET /piece HTTP/1.1\r\nHost: example.com\r\n\r\n", count: requests))
            func answered() -> Int { h.server.statistics.first { $0.0 == "client_req" }!.1 - 1 }
            var settled = -1
            for _ in 0..<50 where settled != answered() {  // until two looks 100 ms apart agree
                settled = answered()
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(settled <= requests - 4, "\(settled) of \(requests) answered while the client read none")
            try await c.startReading()
            for n in 0..<requests {
                let response = try await c.readResponse(seconds: 10)
                #expect(response.body.count == piece.count, "response \(n)")
            }
            #expect(answered() == requests)
            await c.close()
        }
    }
}
