// ClientConnectionHandler+Pipe: return(pipe) — unknown methods and WebSocket upgrades. The
// request head (as vcl_pipe left it) goes to a new backend connection, then bytes flow both ways
// untouched until either side closes or nothing moves for pipe_timeout. Each side is read only
// while the other takes what it is sent, so a pipe holds at most a socket's worth in memory
// whoever is slow. The client connection ends with the pipe. Same event loop and state as the
// handler.

import NIOCore
import NIOPosix
import ShellacCore
import ShellacHTTP

extension ClientConnectionHandler {
    func startPipe(_ head: HTTPRequestHead, backend hint: String?, _ request: ClientRequest) {
        guard let hint, let backend = request.vcl.program.resolve(hint, health: request.flow.context),
              let pool = loopServices.pool(for: backend, in: request.vcl), services.isHealthy(backend)
        else {
            run(request.flow.synth(status: 503, reason: "Backend fetch failed"), request)
            return
        }
        piping = true
        request.keepAlive = false
        request.responseStarted = true
        let client = context.channel
        let eventLoop = context.eventLoop
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.duration(request.flow.context.pipeConnectTimeout ?? pool.definition.connectTimeout
                ?? services.parameters["connect_timeout"]))
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: false)
        let target = NIOLoopBound(self, eventLoop: eventLoop)
        bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let forward = PipeForwarder(peer: client) { target.value.pipeActivity = .now() }
                    try channel.pipeline.syncOperations.addHandler(forward)
                }
            }
            .connect(to: pool.address)
            .whenComplete { result in
                let handler = target.value
                switch result {
                case .success(let channel):
                    guard !handler.closed else {
                        channel.close(promise: nil)
                        return
                    }
                    handler.pipePeer = channel
                    var bytes = channel.allocator.buffer(capacity: 512)
                    if let version = pool.definition.proxyHeader {
                        bytes.writeBytes(ProxyProtocol.header(version: version, ends: handler.addresses.ends))
                    }
                    bytes.writeRequestHead(head)
                    // Whatever the client sent after the head (a body, WebSocket frames) follows it.
                    bytes.writeBuffer(&handler.buffer)
                    channel.writeAndFlush(bytes, promise: nil)
                    handler.armPipeTimer()
                    channel.read()
                    handler.readMoreIfWanted()
                case .failure:
                    handler.piping = false
                    handler.run(request.flow.synth(status: 503, reason: "Backend fetch failed"), request)
                }
            }
    }

    /// Client bytes while piping: straight to the backend (kept until it is connected).
    func pipeRead(_ incoming: inout ByteBuffer) {
        pipeActivity = .now()
        if let pipePeer {
            pipePeer.writeAndFlush(incoming, promise: nil)
        } else {
            buffer.writeBuffer(&incoming)
        }
    }

    /// Closes the pipe after pipe_timeout without traffic in either direction.
    func armPipeTimer() {
        let timeout = TimeAmount.duration(services.parameters["pipe_timeout"])
        pipeTimer = context.eventLoop.scheduleTask(in: timeout) {
            guard !self.closed else { return }
            if NIODeadline.now() - self.pipeActivity >= timeout {
                self.pipePeer?.close(promise: nil)
                self.closeNow()
            } else {
                self.armPipeTimer()
            }
        }
    }
}

/// The backend side of a pipe: what the backend sends goes to the client as it is, read while
/// the client takes it; when the backend closes, so does the client connection. Its own
/// writability lets the client side read again (see ClientConnectionHandler.readMoreIfWanted).
final class PipeForwarder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let peer: any Channel
    private let activity: () -> Void

    init(peer: any Channel, activity: @escaping () -> Void) {
        self.peer = peer
        self.activity = activity
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        activity()
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    /// Reads on while the client keeps up; else the client's handler asks again once it drains.
    func channelReadComplete(context: ChannelHandlerContext) {
        if peer.isWritable { context.read() }
    }

    /// The backend took what the client sent: the client may be read again.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { peer.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            peer.close(mode: .output, promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
