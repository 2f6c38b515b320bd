// RawClient: a test client over a plain TCP connection. Sends exact bytes (so tests can send
// malformed or pipelined requests) and reads responses with its own small HTTP/1.1 reader,
// independent of Shellac's parser. Every read has a short, bounded deadline.

import NIOCore
import NIOPosix
import Synchronization

public struct TestResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The status line's reason phrase.
    public var reason = ""

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

public struct RawClientError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

public final class RawClient: Sendable {
    private let channel: any Channel
    private let inbox: Inbox

    /// - Parameters:
    ///   - reading: false connects without reading, as a stalled client would; `startReading`.
    ///   - receiveBuffer: the socket's receive buffer (SO_RCVBUF), when small like a slow
    ///     client's: the kernel then holds little of what the server sends it.
    public static func connect(port: Int, group: any EventLoopGroup, reading: Bool = true,
                               receiveBuffer: Int? = nil) async throws -> RawClient {
        let inbox = Inbox()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: reading)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(InboxHandler(inbox: inbox))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        if let receiveBuffer { try await channel.setOption(.socketOption(.so_rcvbuf), value: receiveBuffer).get() }
        return RawClient(channel: channel, inbox: inbox)
    }

    private init(channel: any Channel, inbox: Inbox) {
        self.channel = channel
        self.inbox = inbox
    }

    public func startReading() async throws {
        try await channel.setOption(.autoRead, value: true).get()
        channel.read()
    }

    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(string: text))
    }

    public func send(bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    /// Shuts down our sending side (the server sees end of input), keeping the receiving side.
    public func shutdownOutput() async throws {
        try await channel.close(mode: .output)
    }

    public func close() async {
        try? await channel.close()
    }

    /// Reads one complete response (Content-Length, chunked, or until close), within `seconds`.
    public func readResponse(seconds: Double = 5, forHEAD: Bool = false) async throws -> TestResponse {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            let closed = inbox.isClosed  // read before parsing: bytes and the close may land in between
            if let response = try inbox.takeResponse(forHEAD: forHEAD) { return response }
            if closed {
                throw RawClientError(
                    description: "connection closed before a complete response; got: \(inbox.peekText)")
            }
            guard ContinuousClock.now < deadline else {
                throw RawClientError(description: "no complete response within \(seconds)s; got: \(inbox.peekText)")
            }
            await inbox.waitForChange(until: deadline)
        }
    }

    /// Waits until the server closes the connection; returns any bytes left unread. Throws on timeout.
    public func readUntilClose(seconds: Double = 5) async throws -> String {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !inbox.isClosed {
            guard ContinuousClock.now < deadline else {
                throw RawClientError(description: "connection still open after \(seconds)s")
            }
            await inbox.waitForChange(until: deadline)
        }
        return inbox.drainText()
    }

    /// Waits until the bytes received contain `marker`; returns (and consumes) everything so far.
    public func readUntil(_ marker: String, seconds: Double = 5) async throws -> String {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !inbox.peekAll.contains(marker) {
            guard ContinuousClock.now < deadline, !inbox.isClosed else {
                throw RawClientError(description: "'\(marker)' not received; got: \(inbox.peekText)")
            }
            await inbox.waitForChange(until: deadline)
        }
        return inbox.drainText()
    }

    public var isClosed: Bool { inbox.isClosed }
}

/// Bytes received so far and whether the peer closed; wakes readers on every change.
final class Inbox: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var closed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func append(_ bytes: [UInt8]) {
        let waiters = state.withLock { s in
            s.bytes += bytes
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func markClosed() {
        let waiters = state.withLock { s in
            s.closed = true
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    var peekText: String { state.withLock { String(decoding: $0.bytes.prefix(400), as: UTF8.self) } }

    var peekAll: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }

    func drainText() -> String {
        state.withLock { s in
            defer { s.bytes.removeAll() }
            return String(decoding: s.bytes, as: UTF8.self)
        }
    }

    /// Suspends until new bytes or a close arrive, or the deadline passes (a timer wakes it).
    func waitForChange(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { s -> Bool in
                        if s.closed { return true }
                        s.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(until: min(deadline, .now + .milliseconds(50)), clock: .continuous)
            }
            await group.next()
            group.cancelAll()
            // Wake our own continuation if the timer finished first, so the first task can end.
            let waiters = self.state.withLock { s in
                defer { s.waiters.removeAll() }
                return s.waiters
            }
            waiters.forEach { $0.resume() }
            await group.waitForAll()
        }
    }

    /// Removes and returns one complete response from the front of the buffer, if there is one.
    func takeResponse(forHEAD: Bool) throws -> TestResponse? {
        try state.withLock { s in
            let parsed = try ResponseReader.parse(s.bytes, closed: s.closed, forHEAD: forHEAD)
            guard let (response, consumed) = parsed else {
                return nil
            }
            s.bytes.removeFirst(consumed)
            return response
        }
    }
}

final class InboxHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let inbox: Inbox

    init(inbox: Inbox) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        inbox.append(buffer.readBytes(length: buffer.readableBytes) ?? [])
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { inbox.markClosed() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.markClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A deliberately small response reader: status line, fields, then a body framed by
/// Content-Length, chunked coding, or the connection closing.
enum ResponseReader {
    static func parse(_ bytes: [UInt8], closed: Bool, forHEAD: Bool) throws -> (TestResponse, Int)? {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else { return nil }
        let headText = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw RawClientError(description: "bad status line: \(statusLine)")
        }
        let headers: [(String, String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " "))
        }
        var response = TestResponse(status: status, headers: headers, body: [],
                                    reason: parts.count > 2 ? String(parts[2]) : "")
        let bodyStart = headEnd + 4
        if status == 100 {
            return (response, bodyStart)
        }
        if forHEAD || status == 204 || status == 304 {
            return (response, bodyStart)
        }
        if let length = response.header("Content-Length").flatMap({ Int($0) }) {
            guard bytes.count >= bodyStart + length else { return nil }
            response.body = Array(bytes[bodyStart..<(bodyStart + length)])
            return (response, bodyStart + length)
        }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            var index = bodyStart
            var body: [UInt8] = []
            while true {
                guard let lineEnd = find([13, 10], in: bytes, from: index) else { return nil }
                let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";")[0], radix: 16) else {
                    throw RawClientError(description: "bad chunk size \(sizeText)")
                }
                index = lineEnd + 2
                if size == 0 {
                    guard bytes.count >= index + 2 else { return nil }
                    response.body = body
                    return (response, index + 2)
                }
                guard bytes.count >= index + size + 2 else { return nil }
                body += bytes[index..<(index + size)]
                index += size + 2
            }
        }
        guard closed else { return nil }
        response.body = Array(bytes[bodyStart...])
        return (response, bytes.count)
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }

    fileprivate func components(separatedBy separator: String) -> [String] {
        var result: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            result.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        result.append(String(rest))
        return result
    }
}
