// Clients behind on a response, over real sockets: a slow reader gets the whole of a large
// response however far past timeout_idle it takes; a client that stops reading is cut off after
// idle_send_timeout, on a hit and on a pass, and counted (sc_tx_error); pipelined requests wait
// while the client is not taking the answers before them.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
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
            let socket = try SmallBufferSocket(port: h.port)
            defer { socket.close() }
            socket.send("GET /hit HTTP/1.1\r\nHost: example.com\r\n\r\n")
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

/// A blocking socket with a 4 KiB receive buffer, set before it connects (so the window stays
/// small): the kernel holds little of a response, the server the rest, as for a slow client.
private struct SmallBufferSocket: Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 5, tv_usec: 0)  // every read is bounded
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw RawClientError(description: "connect: errno \(errno)")
        }
    }

    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }

    /// How many body bytes came, up to Content-Length's worth or the end.
    func readBody() -> Int {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var head: [UInt8] = []
        var expected: Int?
        var bodyBytes = 0
        while bodyBytes < expected ?? Int.max {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            guard count > 0 else { break }
            guard expected == nil else {
                bodyBytes += count
                continue
            }
            head += buffer[0..<count]
            guard let end = head.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
            let lines = String(decoding: head[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n")
            let length = lines.first { $0.lowercased().hasPrefix("content-length:") }
            expected = length.flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? Int.max
            bodyBytes = head.count - end.upperBound
        }
        return bodyBytes
    }

    func close() {
        Glibc.close(fd)
    }
}
