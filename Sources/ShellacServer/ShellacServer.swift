// ShellacServer: the daemon's I/O root. Owns the event loop group (one loop per core), the
// listener, the backend pools of each loop, the store and its expiry timer, the active VCL (and
// reloads), and the drain on shutdown: stop accepting, let in-flight requests finish up to
// shutdown_timeout, then close everything.

import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ShellacCore
import ShellacStore
import ShellacVCL
import ShellacAdmin

/// An address the daemon listens on, and whether its connections start with a PROXY header.
public struct ListenAddress: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var acceptsProxyProtocol: Bool

    public init(host: String, port: Int, acceptsProxyProtocol: Bool = false) {
        self.host = host
        self.port = port
        self.acceptsProxyProtocol = acceptsProxyProtocol
    }
}

public struct ServerConfiguration: Sendable {
    public var listenHost: String
    public var listenPort: Int
    /// Every connection starts with a PROXY protocol header (`-a HOST:PORT,PROXY`): behind a TLS
    /// terminator or load balancer, VCL's client.ip and server.ip are the ones it names.
    public var acceptsProxyProtocol = false
    /// More addresses to listen on (`-a` given again), each plain or PROXY.
    public var moreListeners: [ListenAddress] = []
    /// The VCL to run; nil runs the builtin VCL with one backend at `backend` (as `varnishd -b`).
    public var vcl: VCLProgram?
    public var backend: (host: String, port: Int)?
    /// Bytes of cache memory (-s malloc,SIZE).
    public var storageBudget: Int
    public var parameters: Parameters
    /// The time (seconds since the epoch) that freshness is judged by; tests pass a manual clock.
    /// Timeouts are timers on the event loops and do not use it.
    public var clock: @Sendable () -> Double
    /// Requests are logged here (NCSA combined plus handling and time to first byte) when set.
    public var accessLog: AccessLog?
    /// The response header whose words tag an object for purge.tag (Surrogate-Key, xkey, Cache-Tag…).
    public var tagHeader = "Surrogate-Key"
    /// How backend host names become addresses (at load, and again every backend_dns_interval).
    public var resolve: BackendResolver = systemBackendResolver

    /// The wall clock, one closure for every configuration (a default argument made a thunk of its
    /// own per initializer, and one of them cost 20 instructions more a call).
    public static let wallClock: @Sendable () -> Double = { WallClock.now() }

    public init(listenHost: String = "127.0.0.1", listenPort: Int = 6081, backendHost: String,
                backendPort: Int, storageBudget: Int = 256 * 1024 * 1024, parameters: Parameters = Parameters(),
                clock: @escaping @Sendable () -> Double = ServerConfiguration.wallClock) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.backend = (backendHost, backendPort)
        self.storageBudget = storageBudget
        self.parameters = parameters
        self.clock = clock
    }

    /// Runs a loaded VCL (`shellacd -f`): its backends replace -b.
    public init(listenHost: String = "127.0.0.1", listenPort: Int = 6081, vcl: VCLProgram,
                storageBudget: Int = 256 * 1024 * 1024, parameters: Parameters = Parameters(),
                clock: @escaping @Sendable () -> Double = ServerConfiguration.wallClock) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.vcl = vcl
        self.storageBudget = storageBudget
        self.parameters = parameters
        self.clock = clock
    }

    /// The program to start with: the configured VCL, or the builtin one around the -b backend.
    func initialProgram() throws -> VCLProgram {
        if let vcl { return vcl }
        guard let backend else { throw BackendAddressError(message: "no VCL and no backend given") }
        let host = backend.host.replacingQuotes()
        let source = "vcl 4.1;\nbackend default { .host = \"\(host)\"; .port = \"\(backend.port)\"; }\n"
        let compilation = VCLCompiler.compile(path: "<-b>") { _ in source }
        switch VCLProgram.load(compilation) {
        case .success(let program): return program
        case .failure(let error): throw BackendAddressError(message: error.rendered)
        }
    }
}

extension String {
    fileprivate func replacingQuotes() -> String { String(filter { $0 != "\"" && $0 != "\n" }) }
}

public final class ShellacServer: Sendable {
    public let configuration: ServerConfiguration
    public let counters = Counters()
    public let store: CacheStore
    let services: ServerServices
    private let group: MultiThreadedEventLoopGroup
    private let loops: [ObjectIdentifier: LoopServices]
    private let probes: HealthProbes
    /// VCLs loaded by name (vcl.load), the one the daemon started with first.
    let vclRegistry: LockedValue<[LoadedVCL]>
    /// How many reloads this daemon has made (their names count them).
    private let reloads = LockedValue(0)
    private let admin = LockedValue<AdminServer?>(nil)
    private let metricsListener = LockedValue<(any Channel)?>(nil)
    private let logger: Logger
    private let state = LockedValue<(listeners: [any Channel], expiry: Task<Void, Never>?, dns: Task<Void, Never>?)>(
        ([], nil, nil))

    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let p = configuration.parameters
        let threads = p.int("threads") == 0 ? System.coreCount : p.int("threads")
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        store = CacheStore(budget: configuration.storageBudget, maxWaiters: p.int("waitinglist_max"),
                           maxVariants: p.int("max_variants"))
        let vcl = try ActiveVCL(name: "boot", program: try configuration.initialProgram(),
                                resolve: configuration.resolve)
        services = ServerServices(store: store, parameters: p, counters: counters, vcl: vcl, logger: logger,
                                  tagHeader: configuration.tagHeader, accessLog: configuration.accessLog,
                                  clock: configuration.clock)
        var loops: [ObjectIdentifier: LoopServices] = [:]
        for loop in group.makeIterator() {
            loops[ObjectIdentifier(loop)] = LoopServices(eventLoop: loop, services: services, parameters: p)
        }
        self.loops = loops
        probes = HealthProbes(group: group, services: services)
        vclRegistry = LockedValue([LoadedVCL(name: "boot", program: vcl.program, path: nil)])
    }

    /// Opens the admin channel (shellacd -T); returns its address.
    @discardableResult
    public func startAdmin(_ configuration: AdminConfiguration) async throws -> SocketAddress? {
        let failures = AcceptFailures(services: services, logger: logger, listener: configuration.listen)
        let server = try await AdminServer(configuration: configuration, group: group, logger: logger,
                                           authTimeout: .duration(self.configuration.parameters["timeout_req"]),
                                           acceptFailures: failures) { [weak self] words in
            self?.execute(words) ?? CLIResponse(.close, "shutting down")
        }
        admin.withLockedValue { $0 = server }
        logger.info("admin channel listening", metadata: ["address": "\(configuration.listen)",
                                                         "authentication": "\(configuration.secret != nil)"])
        return server.localAddress
    }

    /// Serves Prometheus metrics at http://HOST:PORT/metrics; returns the bound address.
    @discardableResult
    public func startMetrics(host: String, port: Int) async throws -> SocketAddress? {
        let scrape: @Sendable () -> String = { [weak self] in
            guard let self else { return "" }
            return self.services.metrics.scrape(statistics: self.statistics, backends: self.backendStatus)
        }
        // A scraper's keep-alive connection is closed after timeout_idle without a request, like a
        // client's: otherwise every connection ever opened to the port could stay open.
        let idle = TimeAmount.duration(configuration.parameters["timeout_idle"])
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .pausingAfterFailedAccepts(AcceptFailures(services: services, logger: logger, listener: "\(host):\(port)"))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(scrape: scrape))
                }
            }
            .bind(host: host, port: port).get()
        metricsListener.withLockedValue { $0 = channel }
        logger.info("metrics listening", metadata: ["address": "\(host):\(port)"])
        return channel.localAddress
    }

    /// The metrics text as /metrics serves it.
    public var metricsText: String { services.metrics.scrape(statistics: statistics, backends: backendStatus) }

    var currentParameters: Parameters { services.parameters }

    func setParameterValue(_ name: String, _ value: String) throws(ParameterError) {
        try services.setParameter(name, value)
        logger.notice("parameter set", metadata: ["name": "\(name)", "value": "\(value)"])
    }

    /// Binds the listeners; returns the first one's bound address (port 0 picks a free port).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let services = self.services
        let p = configuration.parameters
        var listeners: [any Channel] = []
        let addresses = [ListenAddress(host: configuration.listenHost, port: configuration.listenPort,
                                       acceptsProxyProtocol: configuration.acceptsProxyProtocol)]
            + configuration.moreListeners
        for address in addresses {
            do {
                listeners.append(try await bind(address))
            } catch {
                for listener in listeners { try? await listener.close() }
                throw ListenFailure(address: "\(address.host):\(address.port)", error: error)
            }
        }
        // Off the event loops: a run walks the store (the ban lurker tests bans as it goes) and
        // writes out the access log, which would hold up every connection of a loop meanwhile.
        let expiry = Task.detached { [store, parameters = services.parameters, clock = configuration.clock,
                                      accessLog = configuration.accessLog, interval = p["expiry_interval"]] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                store.expire(now: clock(), banCutoff: parameters.int("ban_cutoff"),
                             lurkerBatch: parameters.int("ban_lurker_batch"))
                accessLog?.flush()
            }
        }
        let dns = Task.detached { [services, logger, configuration] in
            await Self.followBackendAddresses(services: services, resolve: configuration.resolve, logger: logger)
        }
        state.withLockedValue { $0 = (listeners, expiry, dns) }
        probes.start(for: services.vcl)
        let backends = services.vcl.program.backends.map(\.name).joined(separator: ",")
        for (listener, address) in zip(listeners, addresses) {
            logger.info("listening", metadata: ["address": "\(listener.localAddress.map { "\($0)" } ?? "?")",
                                                "proxy": "\(address.acceptsProxyProtocol)", "backends": "\(backends)"])
        }
        guard let address = listeners[0].localAddress else { throw ChannelError.unknownLocalAddress }
        return address
    }

    /// One listener: its connections go to the event loops' client handlers.
    private func bind(_ address: ListenAddress) async throws -> any Channel {
        let services = self.services
        let loops = self.loops
        let expectsProxyHeader = address.acceptsProxyProtocol
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(configuration.parameters.int("listen_depth")))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .pausingAfterFailedAccepts(AcceptFailures(services: services, logger: logger,
                                                      listener: "\(address.host):\(address.port)"))
            // The connection's options are set here, directly, rather than as the bootstrap's
            // child options: SwiftNIO applies those one future at a time, about 10,000
            // instructions an option, which made accepting a connection cost more than a hit.
            // TCP_NODELAY comes from the listening socket, where SwiftNIO sets it.
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.setClientOptions(channel)
                    let loopServices = loops[ObjectIdentifier(channel.eventLoop)]!
                    let handler = ClientConnectionHandler(services: services, loopServices: loopServices,
                                                          expectsProxyHeader: expectsProxyHeader)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        return try await bootstrap.bind(host: address.host, port: address.port).get()
    }

    /// A client connection's options, set on its event loop before it is registered.
    private static func setClientOptions(_ channel: any Channel) throws {
        guard let options = channel.syncOptions else { return }
        try options.setOption(.autoRead, value: false)
        try options.setOption(.allowRemoteHalfClosure, value: true)
        // Each connection keeps its receive buffer while it is open; 1 KiB (SwiftNIO starts at
        // 2) holds a browser's request head, and grows for larger input as SwiftNIO sees it.
        try options.setOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024,
                                                                                     maximum: 65536))
    }

    /// Every listener's bound address, in the order given.
    public var listenAddresses: [SocketAddress] {
        state.withLockedValue { $0.listeners.compactMap(\.localAddress) }
    }

    /// Re-resolves backend host names every backend_dns_interval (off the event loops: resolving
    /// blocks); a changed answer sends new connections to the new address.
    private static func followBackendAddresses(services: ServerServices, resolve: BackendResolver,
                                               logger: Logger) async {
        let interval = services.parameters["backend_dns_interval"]
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            for (name, target) in services.vcl.namedTargets {
                if let changed = target.refresh(resolve) {
                    logger.notice("backend address changed", metadata: ["backend": "\(name)", "address": "\(changed)"])
                }
            }
        }
    }

    /// Stops accepting, lets in-flight requests finish (up to shutdown_timeout), then stops.
    public func shutdown() async {
        let (listeners, expiry, dns) = state.withLockedValue { $0 }
        dns?.cancel()
        await admin.withLockedValue { $0 }?.close()
        try? await metricsListener.withLockedValue { $0 }?.close()
        services.startDraining()
        for listener in listeners { try? await listener.close() }
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
        probes.stop()
        for (_, loopServices) in loops {
            try? await loopServices.eventLoop.submit { loopServices.closeAll() }.get()
        }
        try? await group.shutdownGracefully()
        services.vcl.program.finish()
        configuration.accessLog?.flush()
        var metadata: Logger.Metadata = [:]
        for (name, value) in statistics { metadata[name] = "\(value)" }
        logger.info("stopped", metadata: metadata)
    }

    /// Marks a backend (nil: every backend of the active VCL) healthy or sick. While sick it is
    /// not tried: grace hits start no refresh, stale copies within grace or stale-if-error answer,
    /// directors pick another backend, and other requests get 503 at once.
    public func setBackendHealthy(_ healthy: Bool, backend: String? = nil) {
        setBackendHealth(healthy ? .healthy : .sick, backend: backend)
    }

    /// The operator's say over a backend's health (nil: every backend of the active VCL): `auto`
    /// leaves it to probes and passive health.
    public func setBackendHealth(_ override: HealthOverride, backend: String? = nil) {
        let names = backend.map { [$0] } ?? services.vcl.program.backends.map(\.name)
        for name in names { services.health.setOverride(override, for: name) }
        logger.notice("backend health set", metadata: ["backends": "\(names)", "health": "\(override.rawValue)"])
    }

    /// Every backend of the active VCL with its health and probe window.
    public var backendStatus: [BackendStatus] {
        services.health.status(of: services.vcl.program.backends.map(\.name), now: services.now())
    }

    public func isBackendHealthy(_ backend: String) -> Bool { services.isHealthy(backend) }

    /// The VCL new requests run with.
    public var activeVCL: ActiveVCL { services.vcl }

    /// Makes `program` the VCL for new requests; requests in flight finish with the one they
    /// started with, and the cache is kept. Throws (and changes nothing) when a backend of the
    /// new program cannot be resolved.
    public func use(_ program: VCLProgram, name: String) throws {
        let vcl = try ActiveVCL(name: name, program: program, resolve: configuration.resolve)
        vclRegistry.withLockedValue { registry in
            if !registry.contains(where: { $0.name == name }) {
                registry.append(LoadedVCL(name: name, program: program, path: nil))
            }
        }
        services.health.configure(program.backends)
        services.use(vcl)
        probes.start(for: vcl)
        logger.notice("VCL in use", metadata: ["name": "\(name)",
                                               "backends": "\(program.backends.map(\.name).joined(separator: ","))"])
    }

    /// A reload of the daemon's VCL file (SIGHUP): `program` becomes the VCL in use under a new
    /// name, reload-N (N counting this daemon's reloads; a name loaded by hand is skipped). Of
    /// the reloads before it only the last stays loaded, for vcl.use to go back to: every reload
    /// stayed loaded before, so a daemon reloaded every few minutes kept every program it had
    /// run, and two reloads in one second shared a name (vcl.use and vcl.show then gave the first).
    @discardableResult
    public func reload(_ program: VCLProgram) throws -> String {
        let taken = Set(loadedVCLs)
        let name = reloads.withLockedValue { count -> String in
            repeat { count += 1 } while taken.contains("reload-\(count)")
            return "reload-\(count)"
        }
        try use(program, name: name)
        vclRegistry.withLockedValue { registry in
            let kept = Set(registry.map(\.name).filter { $0.hasPrefix("reload-") }.suffix(2))
            registry.removeAll { $0.name.hasPrefix("reload-") && !kept.contains($0.name) }
        }
        return name
    }

    /// The names of the loaded VCLs, in the order they were loaded (as vcl.list shows them).
    public var loadedVCLs: [String] { vclRegistry.withLockedValue { $0.map(\.name) } }

    /// Every counter plus the store's gauges, named as varnishstat names their equivalents.
    public var statistics: [(String, Int)] {
        counters.snapshot + [("n_object", store.objects), ("g_bytes", store.bytesStored),
                             ("n_lru_nuked", store.evictions), ("n_expired", store.expired),
                             ("bans_obj_killed", store.banned),
                             ("bans_lurker_obj_killed_cutoff", store.cutOff), ("bans", store.banList.count)]
    }
}
