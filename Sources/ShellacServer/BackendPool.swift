// BackendPool: keep-alive connections to one backend for one event loop, so a fetch stays on its
// client's loop and the pool needs no lock. Idle connections are reused most-recent-first, closed
// after backend_idle_timeout, and never kept beyond backend_max_idle. Each idle connection carries
// a deadline and one timer per pool sweeps them, so reusing a connection schedules nothing.

import NIOCore
import NIOPosix
import ShellacCore
import ShellacHTTP
import ShellacVCL

/// Confined to `eventLoop` (hence unchecked Sendable, for futures).
final class BackendPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    let address: SocketAddress
    let definition: BackendDefinition
    private let idleTimeout: TimeAmount
    private let maxIdle: Int
    private let counters: Counters
    /// This backend's Prometheus metrics, resolved once.
    let metrics: MetricsExporter.BackendMetrics?
    /// Oldest first: the front is the next to time out.
    private var idle: [BackendConnection] = []
    private var sweep: Scheduled<Void>?

    /// Flushes the client connections its connections' reads wrote to.
    private let flushes: FlushBatch
    private let liveHandlers: LiveObjects?
    /// How large a response head its connections take.
    private let responseLimits: HTTPParserLimits

    init(eventLoop: any EventLoop, address: SocketAddress, definition: BackendDefinition, parameters: Parameters,
         counters: Counters, metrics: MetricsExporter.BackendMetrics? = nil, flushes: FlushBatch = FlushBatch(),
         liveHandlers: LiveObjects? = nil) {
        self.metrics = metrics
        self.liveHandlers = liveHandlers
        self.flushes = flushes
        self.eventLoop = eventLoop
        self.address = address
        self.definition = definition
        self.idleTimeout = .duration(parameters["backend_idle_timeout"])
        self.maxIdle = parameters.int("backend_max_idle")
        self.responseLimits = HTTPParserLimits(maxHeadSize: parameters.int("http_resp_size"),
                                               maxFieldLineSize: parameters.int("http_resp_hdr_len"),
                                               maxFieldCount: parameters.int("http_max_hdr"),
                                               maxBodySize: Int.max)  // bodies: the store caps them
        self.counters = counters
    }

    /// The most recently used idle connection that is still open, if any: no future, no timer.
    func takeIdle() -> BackendConnection? {
        eventLoop.assertInEventLoop()
        while let connection = idle.popLast() {
            if !connection.isClosed && connection.channel.isActive {
                counters.increment(.backendConnectionsReused)
                return connection
            }
        }
        return nil
    }

    /// A new connection, bypassing the idle list (used to retry after a reused one failed).
    /// `timeout`: bereq.connect_timeout when VCL set it, else the backend's own, else the
    /// parameter as it is now (the fetch resolves it).
    func connect(timeout: Double) -> EventLoopFuture<BackendConnection> {
        let handler = BackendConnectionHandler(limits: responseLimits, flushes: flushes, live: liveHandlers)
        let counters = self.counters
        // SwiftNIO sets TCP_NODELAY on a client bootstrap's connections (not on Unix sockets).
        return ClientBootstrap(group: eventLoop).connectTimeout(.duration(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(to: address)
            .map { channel in
                counters.increment(.backendConnectionsOpened)
                let connection = BackendConnection(channel: channel, handler: handler)
                // Strong references, no weak ones (they make every retain of the object slower):
                // the handler drops this closure when its channel closes, which ends the cycle.
                if channel.isActive {
                    handler.onClose = {
                        connection.isClosed = true
                        self.forget(connection)
                    }
                } else {
                    connection.isClosed = true  // closed already: no close event is coming
                }
                return connection
            }
            .flatMapErrorThrowing { error in
                counters.increment(.backendConnectionsFailed)
                if let io = error as? IOError, io.isLocalShortage {
                    throw BackendError.noLocalResources("\(error)")
                }
                throw BackendError.connectFailed("\(error)")
            }
    }

    /// Returns a connection after its exchange: kept when reusable and there is room, else closed.
    func release(_ connection: BackendConnection, reusable: Bool) {
        eventLoop.assertInEventLoop()
        guard reusable, !connection.isClosed, connection.channel.isActive, idle.count < maxIdle else {
            connection.channel.close(promise: nil)
            return
        }
        connection.idleDeadline = eventLoop.now + idleTimeout
        idle.append(connection)
        if sweep == nil { scheduleSweep(at: connection.idleDeadline) }
    }

    private func scheduleSweep(at deadline: NIODeadline) {
        sweep = eventLoop.scheduleTask(deadline: deadline) {  // cancelled by closeAll
            self.sweep = nil
            let now = self.eventLoop.now
            while let oldest = self.idle.first, oldest.idleDeadline <= now {
                self.idle.removeFirst()
                oldest.channel.close(promise: nil)
            }
            if let oldest = self.idle.first { self.scheduleSweep(at: oldest.idleDeadline) }
        }
    }

    private func forget(_ connection: BackendConnection) {
        idle.removeAll { $0 === connection }
    }

    /// Closes every idle connection (shutdown).
    func closeAll() {
        sweep?.cancel()
        sweep = nil
        for connection in idle { connection.channel.close(promise: nil) }
        idle.removeAll()
    }
}
