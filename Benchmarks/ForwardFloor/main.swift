// shellac-forward-floor: the floor under the pass scenario for a SwiftNIO proxy. Each client
// connection gets one backend connection of its own, opened when the client connects and kept
// for the client's lifetime, and bytes are passed through both ways unread: no parsing, no
// headers, no VCL, no pool. Whatever a real proxy on SwiftNIO does for a pass costs more than
// this; what this reaches against nginx proxying the same origin is the most any of them can.
//   shellac-forward-floor PORT BACKEND-PORT [EVENT-LOOPS]      (loopback only; default 1 loop)
// Benchmarks/pass-floor.sh runs it under the shared comparison's pass scenario.

import NIOCore
import NIOPosix

/// One side of a client–backend pair: what it reads is written to the other side.
final class Relay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// The other side; bytes that arrive before it is connected wait here.
    private var peer: (any Channel)?
    private var waiting: [ByteBuffer] = []

    init(peer: (any Channel)? = nil) {
        self.peer = peer
    }

    func connected(to peer: any Channel) {
        self.peer = peer
        for bytes in waiting { peer.write(bytes, promise: nil) }
        peer.flush()
        waiting = []
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if let peer { peer.writeAndFlush(bytes, promise: nil) } else { waiting.append(bytes) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let port = Int(arguments[1]), let backendPort = Int(arguments[2]) else {
    print("usage: shellac-forward-floor PORT BACKEND-PORT [EVENT-LOOPS]")
    exit(2)
}
let loops = arguments.count > 3 ? max(1, Int(arguments[3]) ?? 1) : 1
let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 1024)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { client in
        let relay = Relay()
        return client.pipeline.addHandler(relay).flatMap {
            ClientBootstrap(group: client.eventLoop)
                .channelInitializer { backend in backend.pipeline.addHandler(Relay(peer: client)) }
                .connect(host: "127.0.0.1", port: backendPort)
                .map { backend in relay.connected(to: backend) }
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .wait()
try server.closeFuture.wait()
