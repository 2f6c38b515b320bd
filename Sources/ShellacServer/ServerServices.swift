// ServerServices: what every connection handler shares (store, parameters, counters, the Date
// cache, request ids, the drain flag) and what each event loop owns alone (its backend pool).

import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore
import Synchronization

final class ServerServices: Sendable {
    let store: CacheStore
    let parameters: Parameters
    let limits: HTTPParserLimits
    let counters: Counters
    let dateCache = DateHeaderCache()
    let connections = ConnectionRegistry()
    private let nextRequestID = Atomic<Int>(1)
    private let drainFlag = Atomic<Bool>(false)
    private let backendSick = Atomic<Bool>(false)

    /// Whether the backend may be tried. Set by health probes and the admin channel (to come);
    /// while sick, fetches fail at once and stale copies answer where they may.
    var isBackendHealthy: Bool { !backendSick.load(ordering: .relaxed) }

    func setBackendHealthy(_ healthy: Bool) { backendSick.store(!healthy, ordering: .relaxed) }

    /// Current time for freshness decisions (the wall clock outside tests).
    let now: @Sendable () -> Double

    init(store: CacheStore, parameters: Parameters, counters: Counters, clock: @escaping @Sendable () -> Double) {
        self.store = store
        self.parameters = parameters
        self.counters = counters
        self.now = clock
        self.limits = HTTPParserLimits(
            maxHeadSize: parameters.int("http_req_size"),
            maxFieldLineSize: parameters.int("http_req_hdr_len"),
            maxFieldCount: parameters.int("http_max_hdr"),
            maxURLSize: parameters.int("http_url_len"),
            maxBodySize: parameters.int("http_req_body_max"))
    }

    func requestID() -> String {
        String(nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    var isDraining: Bool { drainFlag.load(ordering: .relaxed) }

    func startDraining() { drainFlag.store(true, ordering: .relaxed) }
}

/// Per event loop state: the backend pool used by connections on that loop. Only used on that
/// loop (the pool asserts it), hence unchecked Sendable.
final class LoopServices: @unchecked Sendable {
    let pool: BackendPool

    init(pool: BackendPool) {
        self.pool = pool
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
