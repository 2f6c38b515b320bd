// Counters: the daemon's statistics, shared by every event loop (relaxed atomics). They feed
// the shutdown log, and the admin `stats` command and metrics.

import NIOCore
import Synchronization

public final class Counters: Sendable {
    public enum Name: Int, CaseIterable, Sendable {
        case clientConnections, clientRequests, clientBadRequests, hits, misses, passes, hitForMiss,
             coalescedWaits, waitinglistFull, synth, notModified, fetches, backendConnectionsOpened,
             backendConnectionsReused, backendConnectionsFailed, backendRetries, fetchFailures, truncatedBodies,
             backendReadsPaused, graceHits, backgroundFetches, staleOnError, revalidated, invalidations,
             laggingClients, bans, purges, restarts, pipes, vclFailures, backendWaits, backendBusy, probes,
             acceptFailures, sendTimeouts

        /// Names as Varnish's varnishstat spells the equivalent counters, where there is one.
        public var label: String {
            switch self {
            case .clientConnections: return "sess_conn"
            case .clientRequests: return "client_req"
            case .clientBadRequests: return "client_req_400"
            case .hits: return "cache_hit"
            case .misses: return "cache_miss"
            case .passes: return "s_pass"
            case .hitForMiss: return "cache_hitmiss"
            case .coalescedWaits: return "busy_sleep"
            case .waitinglistFull: return "busy_killed"
            case .synth: return "s_synth"
            case .notModified: return "cache_304"
            case .fetches: return "s_fetch"
            case .backendConnectionsOpened: return "backend_conn"
            case .backendConnectionsReused: return "backend_reuse"
            case .backendConnectionsFailed: return "backend_fail"
            case .backendRetries: return "backend_retry"
            case .fetchFailures: return "fetch_failed"
            case .truncatedBodies: return "fetch_truncated"
            case .backendReadsPaused: return "fetch_paused"
            case .graceHits: return "cache_hit_grace"
            case .backgroundFetches: return "bgfetch"
            case .staleOnError: return "fetch_stale_served"
            case .revalidated: return "fetch_304"
            case .invalidations: return "n_invalidated"
            case .laggingClients: return "client_lagging"
            case .bans: return "bans_added"
            case .purges: return "n_purges"
            case .restarts: return "req_restarts"
            case .pipes: return "s_pipe"
            case .vclFailures: return "vcl_fail"
            case .backendWaits: return "backend_wait"
            case .backendBusy: return "backend_busy"
            case .probes: return "backend_probes"
            case .acceptFailures: return "sess_fail"
            case .sendTimeouts: return "sc_tx_error"
            }
        }
    }

    /// One atomic per counter, side by side at a fixed address. Kept in an array of cells (a
    /// class each), every increment retained and released its cell: three atomic operations
    /// where one does, several times a request. Only ever used through the atomics.
    private nonisolated(unsafe) let cells: UnsafeMutablePointer<Atomic<Int>>

    public init() {
        cells = .allocate(capacity: Name.allCases.count)
        for index in Name.allCases.indices { (cells + index).initialize(to: Atomic(0)) }
    }

    deinit {
        cells.deinitialize(count: Name.allCases.count)
        cells.deallocate()
    }

    @inline(__always)
    public func increment(_ name: Name, by amount: Int = 1) {
        cells[name.rawValue].add(amount, ordering: .relaxed)
    }

    public subscript(name: Name) -> Int {
        cells[name.rawValue].load(ordering: .relaxed)
    }

    /// Every counter as label/value pairs, in table order.
    public var snapshot: [(String, Int)] {
        Name.allCases.map { ($0.label, self[$0]) }
    }
}

extension TimeAmount {
    /// A TimeAmount from seconds given as a Double (parameters are Doubles).
    static func duration(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}
