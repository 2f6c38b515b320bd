// RequestFlow: the client-side request steps (recv → hash → lookup → hit / miss / busy /
// hit-for-miss / pass → deliver) as a pure state machine. The I/O layer feeds it events and
// carries out the actions it returns; it never touches sockets, clocks or the store itself.

import ShellacHTTP
import ShellacStore

public struct RequestFlow {
    public enum FetchMode: Sendable, Equatable {
        /// A shared fetch other requests may wait on; the response may be stored.
        case cacheable(MissKind)
        /// The key is marked hit-for-miss: fetch alone, store if the answer is now cacheable.
        case hitForMiss
        /// Never stored, forwarded as the client sent it (method, body, validators).
        case pass
    }

    public struct Fetch: Sendable {
        /// Where the fetch publishes the response; the client streams from it.
        public let busy: BusyFetch
        public let mode: FetchMode
        public let request: HTTPRequestHead
    }

    public enum Action: Sendable {
        case synthesize(status: Int, reason: String)
        case lookup(CacheKey)
        /// Deliver a stored object (a 304 instead when the client's validators match), `age` seconds
        /// old. A grace hit carries the background fetch to start, when it is this request's turn.
        case deliverHit(StoredObject, notModified: Bool, CacheStatus, age: Int, refresh: Fetch? = nil)
        /// Start a backend fetch, then stream its response from `fetch.busy`.
        case fetch(Fetch, CacheStatus)
        /// Wait on another request's fetch; report `waitEnded` or `waitFailed`.
        case wait(BusyFetch)
        /// Deliver the response of the fetch waited on.
        case stream(BusyFetch, CacheStatus)
        /// The fetch waited on is for another variant: keep listening and report `fetchCompleted`
        /// when it ends, then look up again (its object is stored by then, the key free).
        case awaitCompletion
    }

    private enum State {
        case new
        case lookingUp
        case waiting(BusyFetch)
        case awaitingCompletion(BusyFetch)
        case delivering
    }

    private var state = State.new
    /// The fetch this request already waited on, if any: it is never waited on twice.
    private var waitedOn: BusyFetch?
    /// The key this request was looked up under; nil for passes and synthetic answers.
    public private(set) var cacheKey: CacheKey?
    public private(set) var request: HTTPRequestHead
    public let clientAddress: String
    public let serverAddress: String
    public let requestID: String
    private let maxWaiters: Int

    public init(request: HTTPRequestHead, clientAddress: String, serverAddress: String, requestID: String,
                maxWaiters: Int) {
        self.request = request
        self.clientAddress = clientAddress
        self.serverAddress = serverAddress
        self.requestID = requestID
        self.maxWaiters = maxWaiters
    }

    /// The request head is complete: run the receive policy.
    public mutating func start() -> Action {
        guard case .new = state else { preconditionFailure("start in \(state)") }
        switch BuiltinPolicy.recv(&request) {
        case .synth(let status, let reason):
            state = .delivering
            return .synthesize(status: status, reason: reason)
        case .pass:
            state = .delivering
            return fetch(.pass, status: CacheStatus(forward: .bypass))
        case .hash:
            let key = BuiltinPolicy.cacheKey(request, serverAddress: serverAddress)
            cacheKey = key
            state = .lookingUp
            return .lookup(key)
        }
    }

    /// The store answered the lookup.
    public mutating func lookupFinished(_ result: LookupResult, now: Double) -> Action {
        guard case .lookingUp = state else { preconditionFailure("lookupFinished in \(state)") }
        switch result {
        case .hit(let object):
            state = .delivering
            return deliver(object, CacheStatus(hit: true), now: now)
        case .graceHit(let object, let refresh):
            state = .delivering
            let background = refresh.map {
                Fetch(busy: $0, mode: .cacheable(.stale), request: backendRequest(forCache: true))
            }
            return deliver(object, CacheStatus(hit: true, forward: .stale), now: now, refresh: background)
        case .miss(let busy, let kind):
            state = .delivering
            let forward: CacheStatus.Forward = switch kind {
            case .uriMiss: .uriMiss
            case .varyMiss: .varyMiss
            case .stale: .stale
            }
            return .fetch(Fetch(busy: busy, mode: .cacheable(kind), request: backendRequest(forCache: true)),
                          CacheStatus(forward: forward))
        case .busy(let busy):
            if busy === waitedOn {
                // That fetch is for another variant and still running: fetch ours alone (it is stored).
                state = .delivering
                return fetch(.hitForMiss, status: CacheStatus(forward: .varyMiss, detail: "busy-other-variant"))
            }
            state = .waiting(busy)
            waitedOn = busy
            return .wait(busy)
        case .hitForMiss:
            state = .delivering
            return fetch(.hitForMiss, status: CacheStatus(forward: .miss, detail: "hit-for-miss"))
        }
    }

    /// The fetch waited on produced its response head.
    public mutating func waitEnded(with head: FetchedHead) -> Action {
        guard case .waiting(let busy) = state else { preconditionFailure("waitEnded in \(state)") }
        if !head.cacheable {
            // Uncacheable: each waiter fetches for itself (the response may be private).
            state = .delivering
            return fetch(.hitForMiss, status: CacheStatus(forward: .miss, detail: "uncacheable"))
        }
        guard head.matches(request.fields) else {
            state = .awaitingCompletion(busy)
            return .awaitCompletion
        }
        state = .delivering
        return .stream(busy, CacheStatus(forward: .miss, forwardStatus: head.status, stored: true, collapsed: true))
    }

    /// The fetch this request depends on failed before any of the response reached the client.
    /// `stale` is the stored variant usable in its place (grace or stale-if-error), if any.
    public func fetchFailed(status: Int, stale: StoredObject?, now: Double) -> Action {
        guard let stale else {
            return .synthesize(status: status, reason: status == 502 ? "Bad Gateway" : "Backend fetch failed")
        }
        return deliver(stale, CacheStatus(hit: true, forward: .stale, forwardStatus: status, detail: "stale-if-error"),
                       now: now)
    }

    /// Delivery of a stored object at `now`: a 304 when the client's validators match, its age, and
    /// the remaining TTL in Cache-Status (negative when stale).
    private func deliver(_ object: StoredObject, _ status: CacheStatus, now: Double, refresh: Fetch? = nil) -> Action {
        var status = status
        status.ttl = Int(object.remainingTTL(at: now).rounded(.down))
        let notModified = ConditionalRequest.isNotModified(request: request.fields, etag: object.etag,
                                                           lastModified: object.lastModified)
        return .deliverHit(object, notModified: notModified, status, age: Int(object.age(at: now)), refresh: refresh)
    }

    /// The other variant's fetch ended (stored or failed): look up again; this may start our fetch.
    public mutating func fetchCompleted() -> Action {
        guard case .awaitingCompletion = state, let key = cacheKey else {
            preconditionFailure("fetchCompleted in \(state)")
        }
        state = .lookingUp
        return .lookup(key)
    }

    /// The fetch waited on failed (502: invalid backend response, 503: unreachable or timed out,
    /// or the backend's 5xx), or the wait itself timed out (503). `stale` as in `fetchFailed`.
    public mutating func waitFailed(status: Int = 503, stale: StoredObject? = nil, now: Double = 0) -> Action {
        switch state {
        case .waiting, .awaitingCompletion: break
        default: preconditionFailure("waitFailed in \(state)")
        }
        state = .delivering
        return fetchFailed(status: status, stale: stale, now: now)
    }

    /// The waiting list was full: fetch alone instead of waiting.
    public mutating func waitRefused() -> Action {
        guard case .waiting = state else { preconditionFailure("waitRefused in \(state)") }
        state = .delivering
        return fetch(.hitForMiss, status: CacheStatus(forward: .miss, detail: "waitinglist-full"))
    }

    private func fetch(_ mode: FetchMode, status: CacheStatus) -> Action {
        // A pass was never looked up, but its fetch is keyed too (invalidation after unsafe methods).
        let key = cacheKey ?? BuiltinPolicy.cacheKey(request, serverAddress: serverAddress)
        let busy = BusyFetch(key: key, maxWaiters: 0)
        return .fetch(Fetch(busy: busy, mode: mode, request: backendRequest(forCache: mode != .pass)), status)
    }

    private func backendRequest(forCache: Bool) -> HTTPRequestHead {
        BackendRequest.make(from: request, clientAddress: clientAddress, forCache: forCache, requestID: requestID)
    }

    /// Whether a streamed response should reach this client as 304 (validators match a cacheable 2xx).
    public func answersNotModified(_ head: FetchedHead) -> Bool {
        guard head.status == 200, request.method == "GET" || request.method == "HEAD",
              ConditionalRequest.hasValidators(request.fields) else { return false }
        return ConditionalRequest.isNotModified(request: request.fields, etag: head.fields["ETag"],
                                                lastModified: head.fields["Last-Modified"])
    }
}
