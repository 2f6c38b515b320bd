// RawSocket: a blocking loopback socket for tests that need what RawClient does not give: a
// listener they answer by hand, writes that stop when the peer stops taking bytes, a receive
// buffer set before connecting. Every wait is bounded; run the blocking calls with onOwnThread.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import ShellacTestSupport

/// A blocking loopback socket whose every wait is bounded (300 ms for a write, 5 s otherwise).
struct RawSocket: Sendable {
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

    /// `receiveBuffer`: set before connecting (so the window stays that small), as for a slow
    /// client: the kernel then holds little of a response, the server the rest.
    static func connect(port: Int, receiveBuffer: Int32? = nil) throws -> RawSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
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

    /// Closes with a reset (SO_LINGER 0), as a client whose process died or whose network broke:
    /// the server learns at once that nothing more can be sent, unlike after an ordinary close.
    func reset() {
        var abort = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
    }
}
