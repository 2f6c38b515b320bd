// TestOrigin: a scriptable HTTP origin on loopback for end-to-end tests. It parses requests with
// NIOHTTP1 (a parser independent of Shellac's), records every request it receives, and answers
// each through a script: a normal response (optionally delayed), raw bytes, a body cut short, or
// a silent close. Counting what the origin received is how tests check coalescing and caching.

import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

public struct OriginRequest: Sendable {
    public var method: String
    public var target: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// 0 for the first request on its connection, 1 for the second…
    public var indexOnConnection: Int

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }
}

public enum OriginAction: Sendable {
    /// A well-formed response with Content-Length, after `delayMilliseconds`.
    case respond(status: Int, headers: [(String, String)], body: String, delayMilliseconds: Int)
    /// A response with Content-Length whose body is these bytes (gzip data, say), after
    /// `delayMilliseconds`.
    case bytes(status: Int, headers: [(String, String)], body: [UInt8], delayMilliseconds: Int = 0)
    /// Exactly these bytes, then close the connection if asked.
    case raw(String, close: Bool)
    /// These bytes in parts, each written and flushed `gapMilliseconds` after the one before.
    case rawInParts([String], gapMilliseconds: Int)
    /// A head announcing `announcedLength` bytes, then only `sent` of them, then close.
    case truncated(announcedLength: Int, sent: Int, headers: [(String, String)])
    /// Close without answering.
    case close

    public static func ok(_ body: String, _ headers: [(String, String)] = [("Cache-Control", "max-age=60")],
                          status: Int = 200, delayMilliseconds: Int = 0) -> OriginAction {
        .respond(status: status, headers: headers, body: body, delayMilliseconds: delayMilliseconds)
    }
}

public final class TestOrigin: Sendable {
    public typealias Script = @Sendable (OriginRequest) -> OriginAction

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let received = Mutex<[OriginRequest]>([])
    public let port: Int

    /// Starts an origin on `host` (127.0.0.1) and `port` (0: a free one), or on a Unix socket.
    public init(host: String = "127.0.0.1", port: Int = 0, unixSocket: String? = nil,
                _ script: @escaping Script) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let box = ScriptBox(script: script)
        let recorder = Recorder()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try channel.pipeline.syncOperations.addHandler(OriginHandler(script: box, recorder: recorder))
                }
            }
        let channel: any Channel
        if let unixSocket {
            channel = try await bootstrap.bind(unixDomainSocketPath: unixSocket, cleanupExistingSocketFile: true).get()
        } else {
            channel = try await bootstrap.bind(host: host, port: port).get()
        }
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.recorderRef = recorder
    }

    private let recorderRef: Recorder

    /// Every request received so far, in arrival order.
    public var requests: [OriginRequest] { recorderRef.all }

    public func count(path: String) -> Int { recorderRef.all.filter { $0.path == path }.count }

    public var requestCount: Int { recorderRef.all.count }

    /// Responses whose last byte the origin's socket has accepted (a stalled reader holds this back).
    public var responsesWritten: Int { recorderRef.responsesWritten }

    private let stopped = Mutex(false)

    /// Stops the origin; later calls do nothing.
    public func stop() async {
        let first = stopped.withLock { wasStopped in
            defer { wasStopped = true }
            return !wasStopped
        }
        guard first else { return }
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

final class ScriptBox: Sendable {
    let script: TestOrigin.Script
    init(script: @escaping TestOrigin.Script) { self.script = script }
}

final class Recorder: Sendable {
    private let list = Mutex<[OriginRequest]>([])
    private let written = Mutex(0)
    func add(_ request: OriginRequest) { list.withLock { $0.append(request) } }
    var all: [OriginRequest] { list.withLock { $0 } }
    func responseWritten() { written.withLock { $0 += 1 } }
    var responsesWritten: Int { written.withLock { $0 } }
}

final class OriginHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    private let script: ScriptBox
    private let recorder: Recorder
    private var current: OriginRequest?
    private var index = 0

    init(script: ScriptBox, recorder: Recorder) {
        self.script = script
        self.recorder = recorder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            current = OriginRequest(method: head.method.rawValue, target: head.uri,
                                    headers: head.headers.map { ($0.name, $0.value) }, body: [],
                                    indexOnConnection: index)
            index += 1
        case .body(var chunk):
            current?.body += chunk.readBytes(length: chunk.readableBytes) ?? []
        case .end:
            guard let request = current else { return }
            current = nil
            recorder.add(request)
            answer(request, context: context)
        }
    }

    private func answer(_ request: OriginRequest, context: ChannelHandlerContext) {
        let channel = context.channel
        let action = script.script(request)
        let recorder = self.recorder
        @Sendable func write(_ text: String, close: Bool) {
            channel.writeAndFlush(channel.allocator.buffer(string: text)).whenComplete { result in
                if case .success = result { recorder.responseWritten() }
                if close { channel.close(promise: nil) }
            }
        }
        switch action {
        case .respond(let status, let headers, let body, let delay):
            var text = "HTTP/1.1 \(status) X\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            if status == 304 || status == 204 {
                text += "\r\n"
            } else if request.method == "HEAD" {
                text += "Content-Length: \(body.utf8.count)\r\n\r\n"
            } else {
                text += "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            if delay > 0 {
                let response = text
                context.eventLoop.scheduleTask(in: .milliseconds(Int64(delay))) { write(response, close: false) }
            } else {
                write(text, close: false)
            }
        case .bytes(let status, let headers, let body, let delay):
            var head = "HTTP/1.1 \(status) X\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            var buffer = channel.allocator.buffer(string: head + "Content-Length: \(body.count)\r\n\r\n")
            if request.method != "HEAD" { buffer.writeBytes(body) }
            let response = buffer
            @Sendable func send() {
                channel.writeAndFlush(response).whenComplete { result in
                    if case .success = result { recorder.responseWritten() }
                }
            }
            if delay > 0 {
                context.eventLoop.scheduleTask(in: .milliseconds(Int64(delay))) { send() }
            } else {
                send()
            }
        case .raw(let text, let close):
            write(text, close: close)
        case .rawInParts(let parts, let gap):
            for (index, part) in parts.enumerated() {
                if index == 0 {
                    write(part, close: false)
                } else {
                    context.eventLoop.scheduleTask(in: .milliseconds(Int64(gap * index))) { write(part, close: false) }
                }
            }
        case .truncated(let announced, let sent, let headers):
            var text = "HTTP/1.1 200 OK\r\nContent-Length: \(announced)\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            text += "\r\n" + String(repeating: "x", count: sent)
            write(text, close: true)
        case .close:
            channel.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
