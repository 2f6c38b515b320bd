// ShellacServer: the daemon's I/O root. Owns the event loop group (one loop per core), the
// listener, one backend pool per loop, the store and its expiry timer, and the drain on shutdown:
// stop accepting, let in-flight requests finish up to shutdown_timeout, then close everything.

import Logging
import NIOCore
import NIOPosix
import ShellacCore
import ShellacStore

public struct ServerConfiguration: Sendable {
    public var listenHost: String
    public var listenPort: Int
    public var backendHost: String
    public var backendPort: Int
    /// Bytes of cache memory (-s malloc,SIZE).
    public var storageBudget: Int
    public var parameters: Parameters
    /// The time (seconds since the epoch) that freshness is judged by; tests pass a manual clock.
    /// Timeouts are timers on the event loops and do not use it.
    public var clock: @Sendable () -> Double

    public init(listenHost: String = "127.0.0.1", listenPort: Int = 6081, backendHost: String,
                backendPort: Int, storageBudget: Int = 256 * 1024 * 1024, parameters: Parameters = Parameters(),
                clock: @escaping @Sendable () -> Double = WallClock.now) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.backendHost = backendHost
        self.backendPort = backendPort
        self.storageBudget = storageBudget
        self.parameters = parameters
        self.clock = clock
    }
}

public final class ShellacServer: Sendable {
    public let configuration: ServerConfiguration
    public let counters = Counters()
    public let store: CacheStore
    private let services: ServerServices
    private let group: MultiThreadedEventLoopGroup
    private let loops: [ObjectIdentifier: LoopServices]
    private let logger: Logger
    private let state = LockedValue<(listener: (any Channel)?, expiry: RepeatedTask?)>((nil, nil))

    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let p = configuration.parameters
        let threads = p.int("threads") == 0 ? System.coreCount : p.int("threads")
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        store = CacheStore(budget: configuration.storageBudget, maxWaiters: p.int("waitinglist_max"),
                           maxVariants: p.int("max_variants"))
        services = ServerServices(store: store, parameters: p, counters: counters, clock: configuration.clock)
        let backend = try SocketAddress.makeAddressResolvingHost(configuration.backendHost,
                                                                 port: configuration.backendPort)
        var loops: [ObjectIdentifier: LoopServices] = [:]
        for loop in group.makeIterator() {
            let pool = BackendPool(eventLoop: loop, address: backend, parameters: p, counters: counters)
            loops[ObjectIdentifier(loop)] = LoopServices(pool: pool)
        }
        self.loops = loops
    }

    /// Binds the listener; returns the bound address (port 0 picks a free port).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let services = self.services
        let loops = self.loops
        let p = configuration.parameters
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(p.int("listen_depth")))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let loopServices = loops[ObjectIdentifier(channel.eventLoop)]!
                    let handler = ClientConnectionHandler(services: services, loopServices: loopServices)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let listener = try await bootstrap.bind(host: configuration.listenHost, port: configuration.listenPort).get()
        let store = self.store
        let clock = configuration.clock
        let interval = TimeAmount.duration(p["expiry_interval"])
        let expiry = group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            store.expire(now: clock())
        }
        state.withLockedValue { $0 = (listener, expiry) }
        guard let address = listener.localAddress else { throw ChannelError.unknownLocalAddress }
        logger.info("listening", metadata: ["address": "\(address)",
                                            "backend": "\(configuration.backendHost):\(configuration.backendPort)"])
        return address
    }

    /// Stops accepting, lets in-flight requests finish (up to shutdown_timeout), then stops.
    public func shutdown() async {
        let (listener, expiry) = state.withLockedValue { $0 }
        services.startDraining()
        try? await listener?.close()
        for channel in services.connections.all {
            channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
        }
        let deadline = NIODeadline.now() + .duration(configuration.parameters["shutdown_timeout"])
        while services.connections.count > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let remaining = services.connections.all
        if !remaining.isEmpty {
            logger.warning("closing connections still open after shutdown_timeout",
                           metadata: ["count": "\(remaining.count)"])
            for channel in remaining { try? await channel.close() }
        }
        expiry?.cancel()
        for (_, loopServices) in loops {
            try? await loopServices.pool.eventLoop.submit { loopServices.pool.closeAll() }.get()
        }
        try? await group.shutdownGracefully()
        var metadata: Logger.Metadata = [:]
        for (name, value) in statistics { metadata[name] = "\(value)" }
        logger.info("stopped", metadata: metadata)
    }

    /// Marks the backend healthy or sick. While sick it is not tried: grace hits start no refresh,
    /// stale copies within grace or stale-if-error answer, and other requests get 503 at once.
    public func setBackendHealthy(_ healthy: Bool) {
        services.setBackendHealthy(healthy)
        logger.notice("backend health changed", metadata: ["healthy": "\(healthy)"])
    }

    public var isBackendHealthy: Bool { services.isBackendHealthy }

    /// Every counter plus the store's gauges, named as varnishstat names their equivalents.
    public var statistics: [(String, Int)] {
        counters.snapshot + [("n_object", store.objects), ("g_bytes", store.bytesStored),
                             ("n_lru_nuked", store.evictions), ("n_expired", store.expired)]
    }
}
