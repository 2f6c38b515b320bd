// return(pipe) with a slow side, over real sockets: each side is read only while the other
// takes what it is sent, so neither a client that does not read a piped download nor a backend
// that does not read a piped upload makes the daemon hold the rest in memory (it held all of it).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ShellacTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct PipeBackpressureTests {
    /// Offered by the slow side's peer; what gets through is the sockets' worth (about 10 MB
    /// here) when each side waits for the other, all of it when not.
    static let total = 64 << 20

    static func pipeEverything(to port: Int) -> String {
        """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "\(port)"; }
        sub vcl_recv { return (pipe); }
        """
    }

    @Test func aPipedDownloadWaitsForAClientThatIsNotReading() async throws {
        let listener = try RawSocket.listen()
        defer { listener.close() }
        try await withHarness(vcl: Self.pipeEverything(to: listener.port), script: { _ in .ok("unused") }) { h in
            let origin = Task { await onOwnThread { () -> Int in
                guard let connection = listener.accept() else { return -1 }
                defer { connection.close() }
                _ = connection.readHead()
                connection.write("HTTP/1.1 200 OK\r\nContent-Length: \(Self.total)\r\n\r\n")
                return connection.writeUntilStalled(Self.total)
            } }
            let client = try await RawClient.connect(port: h.port, group: h.clients, reading: false,
                                                     receiveBuffer: 4096)
            try await client.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
            let sent = await origin.value
            #expect(sent > 0)
            #expect(sent < Self.total / 2, "the backend could send \(sent) bytes to a client reading none")
            await client.close()
        }
    }

    @Test func aPipedUploadWaitsForABackendThatIsNotReading() async throws {
        let listener = try RawSocket.listen()
        defer { listener.close() }
        try await withHarness(vcl: Self.pipeEverything(to: listener.port), script: { _ in .ok("unused") }) { h in
            let origin = Task { await onOwnThread { listener.accept(receiveBuffer: 4096) } }  // and never reads
            let client = try RawSocket.connect(port: h.port)
            defer { client.close() }
            client.write("PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: \(Self.total)\r\n\r\n")
            let sent = await onOwnThread { client.writeUntilStalled(Self.total) }
            let backend = await origin.value
            defer { backend?.close() }
            #expect(backend != nil, "the pipe reached the backend")
            #expect(sent < Self.total / 2, "the client could send \(sent) bytes to a backend reading none")
        }
    }
}

/// A blocking loopback socket whose every wait is bounded (300 ms for a write, 5 s otherwise).
private struct RawSocket: Sendable {
    let fd: Int32
    var port = 0

    static func listen() throws -> RawSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, Glibc.listen(fd, 8) == 0 else { throw RawClientError(description: "listen: errno \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        var socket = RawSocket(fd: fd)
        socket.port = Int(UInt16(bigEndian: address.sin_port))
        return socket
    }

    static func connect(port: Int) throws -> RawSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw RawClientError(description: "connect: errno \(errno)")
        }
        let socket = RawSocket(fd: fd)
        socket.setTimeouts()
        return socket
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    /// The next connection (nil after 5 s without one), with a small receive buffer if asked.
    func accept(receiveBuffer: Int32? = nil) -> RawSocket? {
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, 5000) == 1 else { return nil }
        let connection = RawSocket(fd: Glibc.accept(fd, nil, nil))
        guard connection.fd >= 0 else { return nil }
        if var size = receiveBuffer {
            setsockopt(connection.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        connection.setTimeouts()
        return connection
    }

    private func setTimeouts() {
        var send = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send, socklen_t(MemoryLayout<timeval>.size))
        var receive = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Reads until the end of a request head (or 5 s without a byte).
    func readHead() -> String {
        var received: [UInt8] = []
        var byte: UInt8 = 0
        while !received.reversed().starts(with: [10, 13, 10, 13]), read(fd, &byte, 1) == 1 { received.append(byte) }
        return String(decoding: received, as: UTF8.self)
    }

    func write(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
    }

    /// Writes up to `limit` bytes until the socket takes nothing for 300 ms; what it took.
    func writeUntilStalled(_ limit: Int) -> Int {
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
        var written = 0
        while written < limit {
            let count = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, min($0.count, limit - written)) }
            guard count > 0 else { break }
            written += count
        }
        return written
    }

    func close() {
        Glibc.close(fd)
    }
}
