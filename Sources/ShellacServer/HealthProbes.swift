// HealthProbes: runs each probed backend's health probe on an event loop, every `.interval`,
// the next one only after the last finished: connect, send `.request` (or a GET of `.url`), read
// the status line within `.timeout`, compare it with `.expected_response`, record the result in
// BackendHealth and log when the backend's health changes. A reload starts over with the new
// VCL's probes; shutdown stops them.

import Logging
import NIOCore
import ShellacHTTP
import NIOPosix
import ShellacCore
import ShellacVCL
import Synchronization

final class HealthProbes: Sendable {
    private let group: any EventLoopGroup
    private let services: ServerServices
    private let running = Mutex<[RepeatedTask]>([])

    init(group: any EventLoopGroup, services: ServerServices) {
        self.group = group
        self.services = services
    }

    /// Probes the backends of `vcl` that have a probe (and stops those of the VCL before).
    func start(for vcl: ActiveVCL) {
        stop()
        var tasks: [RepeatedTask] = []
        for (name, backend) in vcl.backends.sorted(by: { $0.key < $1.key }) {
            guard let probe = backend.definition.probe else { continue }
            let loop = group.next()
            let request = Self.bytes(for: probe, backend: backend.definition)
            let target = backend.target
            let services = self.services
            tasks.append(loop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: .duration(probe.interval)) { _ in
                Self.probe(address: target.address, request: request, expected: probe.expectedResponse,
                           timeout: .duration(probe.timeout), on: loop).map { good in
                    services.counters.increment(.probes)
                    let (before, after) = services.health.recordProbe(good, for: name, now: services.now())
                    if before != after {
                        services.logger.notice("backend \(after ? "healthy" : "sick")",
                                               metadata: ["backend": "\(name)", "probe": "\(probe.name)"])
                    }
                }
            })
        }
        running.withLock { $0 = tasks }
    }

    func stop() {
        let tasks = running.withLock { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in tasks { task.cancel() }
    }

    /// The bytes of one probe: a PROXY header naming no client for a backend that expects one
    /// (v1 UNKNOWN, v2 LOCAL, the form meant for health checks), then the request.
    static func bytes(for probe: ProbeDefinition, backend: BackendDefinition) -> [UInt8] {
        let header = backend.proxyHeader.map { ProxyProtocol.header(version: $0, ends: nil) } ?? []
        return header + Array(request(for: probe, backend: backend).utf8)
    }

    /// The bytes of one probe request: `.request` lines as given, or a GET of `.url`.
    static func request(for probe: ProbeDefinition, backend: BackendDefinition) -> String {
        if let lines = probe.request {
            return lines.joined(separator: "\r\n") + "\r\n\r\n"
        }
        let host = backend.hostHeader ?? backend.host ?? "localhost"
        return "GET \(probe.url) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\nUser-Agent: Shellac health probe\r\n\r\n"
    }

    /// One probe: true when the backend answered with `expected` within `timeout`.
    static func probe(address: SocketAddress, request: [UInt8], expected: Int, timeout: TimeAmount,
                      on loop: any EventLoop) -> EventLoopFuture<Bool> {
        let promise = loop.makePromise(of: Bool.self)
        let handler = ProbeHandler(request: request, expected: expected, promise: promise)
        let deadline = loop.scheduleTask(in: timeout) { handler.finish(false) }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(to: address)
            .whenFailure { _ in handler.finish(false) }
        return promise.futureResult.always { _ in deadline.cancel() }
    }
}

/// Sends the probe request and reads the status line. Confined to its event loop.
final class ProbeHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: [UInt8]
    private let expected: Int
    private let promise: EventLoopPromise<Bool>
    private var received: [UInt8] = []
    private var channel: (any Channel)?
    private var done = false

    init(request: [UInt8], expected: Int, promise: EventLoopPromise<Bool>) {
        self.request = request
        self.expected = expected
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        channel = context.channel
        if done {
            context.close(promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received += buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let end = received.firstRange(of: [13, 10]) else {
            if received.count > 1024 { finish(false) }
            return
        }
        // "HTTP/1.1 200 OK": the three digits after the first space.
        let line = String(decoding: received[..<end.lowerBound], as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        let status = parts.count >= 2 && parts[0].hasPrefix("HTTP/1.") ? Int(parts[1]) : nil
        finish(status == expected)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(false)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(false)
    }

    func finish(_ good: Bool) {
        guard !done else { return }
        done = true
        channel?.close(promise: nil)
        promise.succeed(good)
    }
}
