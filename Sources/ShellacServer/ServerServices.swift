// ServerServices: what every connection handler shares (store, parameters, counters, the Date
// cache, request ids, the drain flag, the active VCL, backend health) and what each event loop
// owns alone (its backend pools).

import Logging
import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore
import ShellacVCL
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

final class ServerServices: Sendable {
    let store: CacheStore
    /// The parameters; `param.set` changes those Parameters.changeableWhileRunning lists.
    var parameters: Parameters { parameterTable.withLock { $0 } }
    private let parameterTable: Mutex<Parameters>
    /// The parameters every request and fetch reads, as plain numbers: reading them takes a lock
    /// on a few words instead of copying the table and hashing names.
    var perRequest: Parameters.PerRequest { perRequestValues.withLock { $0 } }
    private let perRequestValues: Mutex<Parameters.PerRequest>

    func setParameter(_ name: String, _ value: String) throws(ParameterError) {
        let changed = try parameterTable.withLock {
            (table: inout Parameters) throws(ParameterError) -> Parameters.PerRequest in
            try table.set(name, value)
            return table.perRequest
        }
        perRequestValues.withLock { $0 = changed }
        settingsVersion.add(1, ordering: .releasing)
    }

    /// Counts the changes of the VCL in use and of the parameters. Each event loop keeps its own
    /// copy of both (`LoopServices.vcl`, `.perRequest`) and reads them again only when this has moved:
    /// under their locks, a few looks a request cost two atomic operations each.
    private let settingsVersion = Atomic<Int>(0)

    /// The VCL and per-request parameters as they are now, with the version they are at least as
    /// new as (read first, so a change made meanwhile is seen again at the next look).
    func currentSettings() -> (version: Int, vcl: ActiveVCL, perRequest: Parameters.PerRequest) {
        let version = settingsVersion.load(ordering: .acquiring)
        return (version, vcl, perRequest)
    }

    /// Whether settings read at `version` are still the current ones.
    func settingsAreCurrent(_ version: Int) -> Bool {
        settingsVersion.load(ordering: .acquiring) == version
    }
    let limits: HTTPParserLimits
    let counters: Counters
    let dateCache = DateHeaderCache()
    let connections = ConnectionRegistry()
    /// Connection handlers alive, client and backend: made per connection and freed after it
    /// closes, so each returns to the number of open connections (tests hold them to that: no
    /// handler leaks).
    let liveClientHandlers = LiveObjects()
    let liveBackendHandlers = LiveObjects()
    private let nextRequestID = Atomic<Int>(1)
    private let drainFlag = Atomic<Bool>(false)
    private let active: Mutex<ActiveVCL>
    let health: BackendHealth

    /// `.max_connections` slots per backend name, shared by every event loop; a reload that
    /// changes the limit starts new slots.
    private let slots = Mutex<[String: BackendSlots]>([:])

    func slots(for definition: BackendDefinition, limit: Int) -> BackendSlots {
        slots.withLock { all in
            if let existing = all[definition.name], existing.limit == limit { return existing }
            let made = BackendSlots(limit: limit)
            all[definition.name] = made
            return made
        }
    }

    /// Prometheus metrics (scraped from the counters; backend latency recorded as it happens).
    let metrics = MetricsExporter()

    /// Where each request is logged, when an access log is configured.
    let accessLog: AccessLog?

    /// What VCL contexts ask of the server: backend health, tag purges.
    let vclServices: VCLServices

    /// The VCL new requests run with.
    var vcl: ActiveVCL { active.withLock { $0 } }

    func use(_ vcl: ActiveVCL) {
        active.withLock { $0 = vcl }
        settingsVersion.add(1, ordering: .releasing)
    }

    /// Whether a backend may be tried (probes, passive health, the operator's override); while
    /// sick, fetches to it fail at once and stale copies answer where they may.
    func isHealthy(_ backend: String) -> Bool {
        health.isHealthy(backend, now: now())
    }

    /// The same, at a time the caller read already.
    func isHealthy(_ backend: String, now: Double) -> Bool {
        health.isHealthy(backend, now: now)
    }

    /// Current time for freshness decisions (the wall clock outside tests).
    let now: @Sendable () -> Double

    let logger: Logger
    /// The response header listing an object's tags (surrogate keys), space- or comma-separated.
    let tagHeader: String
    /// `HTTPField.nameBit(tagHeader)`, computed once rather than on every fetch.
    let tagHeaderBit: UInt64

    init(store: CacheStore, parameters: Parameters, counters: Counters, vcl: ActiveVCL, logger: Logger,
         tagHeader: String, accessLog: AccessLog?, clock: @escaping @Sendable () -> Double) {
        self.store = store
        self.accessLog = accessLog
        self.tagHeader = tagHeader
        tagHeaderBit = HTTPField.nameBit(tagHeader)
        self.logger = logger
        self.active = Mutex(vcl)
        self.health = BackendHealth(failureThreshold: parameters.int("backend_failure_threshold"),
                                    sickRetry: parameters["backend_sick_retry"])
        health.configure(vcl.program.backends)
        var name = [UInt8](repeating: 0, count: 256)
        _ = name.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { gethostname($0.baseAddress!, $0.count - 1) }
        }
        let hostname = String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
        self.parameterTable = Mutex(parameters)
        self.perRequestValues = Mutex(parameters.perRequest)
        self.counters = counters
        self.now = clock
        let health = self.health
        vclServices = VCLServices(isHealthy: { health.isHealthy($0, now: clock()) },
                                  purgeTags: { tags, soft in
                                      counters.increment(.purges)
                                      return store.purge(tags: tags, soft: soft, now: clock())
                                  }, hostname: hostname)
        self.limits = HTTPParserLimits(
            maxHeadSize: parameters.int("http_req_size"),
            maxFieldLineSize: parameters.int("http_req_hdr_len"),
            maxFieldCount: parameters.int("http_max_hdr"),
            maxURLSize: parameters.int("http_url_len"),
            maxBodySize: parameters.int("http_req_body_max"))
    }

    func requestID() -> String {
        Self.decimal(nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    /// A non-negative number in decimal, written straight into the String's storage (a fraction
    /// of what `String(Int)` costs; request ids are made for every request).
    static func decimal(_ number: Int) -> String {
        var digits = 1
        var rest = number.magnitude / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return String(unsafeUninitializedCapacity: digits) { buffer in
            var value = number.magnitude
            for index in stride(from: digits - 1, through: 0, by: -1) {
                buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            return digits
        }
    }

    var isDraining: Bool { drainFlag.load(ordering: .relaxed) }

    func startDraining() { drainFlag.store(true, ordering: .relaxed) }
}

/// Per event loop state: the backend pools used by connections on that loop, one per backend
/// (by name and address, so a reload that changes a backend gets a new pool). Only used on that
/// loop, hence unchecked Sendable.
final class LoopServices: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let parameters: Parameters
    private let counters: Counters
    private let metrics: MetricsExporter
    /// By backend name: the pool and the target (of the VCL in use) it was last found right for.
    private var pools: [String: (pool: BackendPool, target: BackendTarget)] = [:]
    /// Client flushes asked for while a backend read is handled, done at its end.
    let flushes = FlushBatch()
    /// The idle client connections and when each is due to be looked at.
    let idleConnections: IdleTimeouts
    /// The buffer response heads (of hits and of streamed responses) are written into, reused
    /// from one response to the next: by then the channel has usually written it and let it go
    /// (if not, writing a new head into it copies it first, as ByteBuffer does). A buffer and its
    /// bytes were two allocations a response.
    var headBuffer = ByteBuffer()
    /// The connection whose response head waits in `headBuffer` for a small body to join it
    /// (while a backend read is handled); anyone else writing a head there sends it first.
    var headHolder: ClientConnectionHandler?

    private let services: ServerServices
    /// This loop's copy of the VCL in use and of the per-request parameters, and the version of
    /// the server's settings it was read at.
    private var settingsVersion: Int
    private var vclInUse: ActiveVCL
    private var perRequestInUse: Parameters.PerRequest

    init(eventLoop: any EventLoop, services: ServerServices, parameters: Parameters) {
        self.eventLoop = eventLoop
        self.idleConnections = IdleTimeouts(eventLoop: eventLoop)
        self.services = services
        self.parameters = parameters
        self.counters = services.counters
        self.metrics = services.metrics
        (settingsVersion, vclInUse, perRequestInUse) = services.currentSettings()
    }

    /// The VCL new requests run with, as the server has it.
    var vcl: ActiveVCL {
        refreshSettings()
        return vclInUse
    }

    /// The parameters every request reads, as the server has them.
    var perRequest: Parameters.PerRequest {
        refreshSettings()
        return perRequestInUse
    }

    private func refreshSettings() {
        if !services.settingsAreCurrent(settingsVersion) {
            (settingsVersion, vclInUse, perRequestInUse) = services.currentSettings()
        }
    }

    /// The pool for a backend of `vcl`, or nil when the VCL has no such (connectable) backend.
    /// Kept by backend name; a reload or a DNS change that moves the backend replaces the pool
    /// (its idle connections are closed).
    func pool(for backend: String, in vcl: ActiveVCL) -> BackendPool? {
        eventLoop.assertInEventLoop()
        if let last, last.vcl === vcl, last.backend == backend, last.target.changeCount == last.targetChanges {
            return last.pool
        }
        // Read before the lookup: should the address change meanwhile, the count differs next time.
        let changes = vcl.backends[backend]?.target.changeCount ?? 0
        guard let (pool, target) = lookUpPool(for: backend, in: vcl) else {
            last = nil
            return nil
        }
        last = LastPool(vcl: vcl, backend: backend, target: target, targetChanges: changes, pool: pool)
        return pool
    }

    /// The pool handed out last, and the VCL and backend it was for: most requests ask for the
    /// same one again, answered without two dictionary lookups and a copy of the definition.
    /// Only `lookUpPool` changes `pools`, and every call of it sets this afresh. An object, so
    /// that looking at it holds one reference rather than copying four.
    private var last: LastPool?

    private final class LastPool {
        let vcl: ActiveVCL
        let backend: String
        let target: BackendTarget
        /// The target's change count when the pool was looked up for it.
        let targetChanges: Int
        let pool: BackendPool

        init(vcl: ActiveVCL, backend: String, target: BackendTarget, targetChanges: Int, pool: BackendPool) {
            self.vcl = vcl
            self.backend = backend
            self.target = target
            self.targetChanges = targetChanges
            self.pool = pool
        }
    }

    private func lookUpPool(for backend: String, in vcl: ActiveVCL) -> (BackendPool, BackendTarget)? {
        guard let (definition, target) = vcl.backends[backend] else { return nil }
        let address = target.address
        if let known = pools[backend], known.pool.address == address {
            // The same target object means the same VCL, so the same definition: comparing the
            // definitions field by field cost more than the rest of taking a connection.
            if known.target === target { return (known.pool, target) }
            if known.pool.definition == definition {
                pools[backend] = (known.pool, target)
                return (known.pool, target)
            }
        }
        pools[backend]?.pool.closeAll()
        let pool = BackendPool(eventLoop: eventLoop, address: address, definition: definition,
                               parameters: parameters, counters: counters, metrics: metrics.metrics(for: backend),
                               flushes: flushes, liveHandlers: services.liveBackendHandlers)
        pools[backend] = (pool, target)
        return (pool, target)
    }

    func closeAll() {
        for entry in pools.values { entry.pool.closeAll() }
        idleConnections.stop()
    }
}

/// Open client connections, so a drain can tell each to finish and close.
final class ConnectionRegistry: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        channels.withLock { $0[ObjectIdentifier(channel)] = channel }
    }

    func remove(_ channel: any Channel) {
        channels.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { channels.withLock { $0.count } }

    var all: [any Channel] { channels.withLock { Array($0.values) } }
}

/// Sent down each client pipeline when the server starts draining.
struct DrainEvent: Sendable {}

/// How many objects of one kind are alive (see ServerServices.liveClientHandlers).
final class LiveObjects: Sendable {
    private let alive = Atomic<Int>(0)
    func made() { alive.add(1, ordering: .relaxed) }
    func freed() { alive.subtract(1, ordering: .relaxed) }
    var count: Int { alive.load(ordering: .relaxed) }
}
