// UpgradeEchoOrigin: a raw loopback origin for tunnel tests (WebSocket through return(pipe)).
// It reads one request head, answers 101 Switching Protocols, then echoes every byte back
// until the other side closes. The heads it received are recorded.

import NIOCore
import Synchronization

public final class UpgradeEchoOrigin: Sendable {
    private let listener: RawListener
    private let recorder = HeadRecorder()
    public var port: Int { listener.port }

    public init() async throws {
        let recorder = self.recorder
        listener = try await RawListener { EchoAfterUpgrade(recorder: recorder) }
    }

    /// Request heads received, in order.
    public var receivedHeads: [String] { recorder.all }

    public func stop() async {
        await listener.stop()
    }
}

final class HeadRecorder: Sendable {
    private let heads = Mutex<[String]>([])
    func add(_ head: String) { heads.withLock { $0.append(head) } }
    var all: [String] { heads.withLock { $0 } }
}

final class EchoAfterUpgrade: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let recorder: HeadRecorder
    private var head: [UInt8] = []
    private var upgraded = false

    init(recorder: HeadRecorder) {
        self.recorder = recorder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if upgraded {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            return
        }
        head += buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let end = head.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
        recorder.add(String(decoding: head[..<end.lowerBound], as: UTF8.self))
        upgraded = true
        let reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        context.write(wrapOutboundOut(context.channel.allocator.buffer(string: reply)), promise: nil)
        let rest = Array(head[end.upperBound...])
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: rest)), promise: nil)
    }
}
