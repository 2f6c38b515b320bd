// RequestFlow: the client side of a request as a pure state machine driven by the loaded VCL:
// vcl_recv → vcl_hash → lookup → vcl_hit / vcl_miss (or wait on a busy fetch) / vcl_pass →
// vcl_deliver, with vcl_purge, vcl_pipe and vcl_synth, restarts up to max_restarts, and `fail`.
// The I/O layer feeds it events and carries out the actions it returns; it never touches
// sockets, clocks or the store itself (busy fetches it gives up are handed back to release).

import ShellacHTTP
import ShellacStore
import ShellacVCL

public struct RequestFlow {
    public enum FetchMode: Sendable, Equatable {
        /// A shared fetch other requests may wait on; the response may be stored.
        case cacheable(MissKind)
        /// Fetch alone (hit-for-miss marker, hash_always_miss, vcl_hit's miss): store if cacheable.
        case hitForMiss
        /// Never stored, forwarded as the client sent it (method, body, validators).
        case pass
    }

    /// A class: every action a request's flow returns carries room for one (a grace hit's
    /// background fetch), and as a struct of about 130 bytes it made every action as large,
    /// moved with a memcpy call at each step of a hit.
    public final class Fetch: Sendable {
        /// Where a shared fetch publishes the response for the requests waiting on it; nil for a
        /// private one (a pass or a hit-for-miss), whose only reader is the request that made it
        /// (a busy object of its own was made, locked and published to for every such fetch).
        public let busy: BusyFetch?
        /// The key the fetch is for (its busy object's, when it has one).
        public let key: CacheKey
        public let mode: FetchMode
        public let request: HTTPRequestHead
        /// Whether `request` leaves out X-Forwarded-For and X-Varnish (BackendRequest.prepare).
        public let forwardingLeftOut: Bool
        /// Whether it also leaves out Accept-Encoding: gzip (http_gzip_support).
        public let gzipLeftOut: Bool
        /// req.backend_hint when the fetch starts (bereq.backend).
        public let backend: String?
        public let requestID: String
        public let isBackground: Bool

        /// A shared fetch, publishing into `busy`.
        convenience init(busy: BusyFetch, mode: FetchMode,
                         request: (head: HTTPRequestHead, forwardingLeftOut: Bool, gzipLeftOut: Bool),
                         backend: String?, requestID: String, isBackground: Bool = false) {
            self.init(busy: busy, key: busy.key, mode: mode, request: request, backend: backend, requestID: requestID,
                      isBackground: isBackground)
        }

        init(busy: BusyFetch?, key: CacheKey, mode: FetchMode,
             request: (head: HTTPRequestHead, forwardingLeftOut: Bool, gzipLeftOut: Bool),
             backend: String?, requestID: String, isBackground: Bool = false) {
            self.busy = busy
            self.key = key
            self.mode = mode
            self.request = request.head
            self.forwardingLeftOut = request.forwardingLeftOut
            self.gzipLeftOut = request.gzipLeftOut
            self.backend = backend
            self.requestID = requestID
            self.isBackground = isBackground
        }
    }

    /// A response vcl_synth settled on.
    public struct SyntheticResponse: Sendable, Equatable {
        public var status: Int
        public var reason: String
        public var fields: HTTPFields
        public var body: String
        /// Automatic fields vcl_synth unset or set itself (only X-Varnish is written for a synthetic
        /// response).
        public var omitted: AutomaticFields = []
        /// After `fail`: the connection closes after this response.
        public var closesConnection = false
    }

    public enum Action: Sendable {
        case synthesize(SyntheticResponse)
        case lookup(CacheKey)
        /// Deliver a stored object (a 304 instead when the client's validators match), `age` seconds
        /// old, with vcl_deliver's changes when it made any. A grace hit carries the background
        /// fetch to start, when it is this request's turn.
        case deliverHit(StoredObject, notModified: Bool, CacheStatus, age: Int, refresh: Fetch?, edits: ResponseEdits?)
        /// Start a backend fetch, then stream its response from `fetch.busy`.
        case fetch(Fetch, CacheStatus)
        /// Wait on another request's fetch; report `waitEnded` or `waitFailed`.
        case wait(BusyFetch)
        /// Deliver the response of the fetch waited on.
        case stream(BusyFetch, CacheStatus)
        /// The fetch waited on is for another variant: keep listening and report `fetchCompleted`
        /// when it ends, then look up again (its object is stored by then, the key free).
        case awaitCompletion
        /// Remove every variant of the key, then report `purged(count:)`.
        case purge(CacheKey)
        /// Tunnel bytes between the client and a backend, starting with this request.
        case pipe(HTTPRequestHead, backend: String?)
    }

    /// What vcl_deliver decided for a response streamed from a fetch.
    public enum StreamDelivery: Sendable {
        case deliver(ResponseEdits?)
        /// Not this response: stop listening to the fetch and carry out the action instead.
        case replace(Action)
    }

    private enum State {
        case new
        case lookingUp
        case waiting(BusyFetch)
        case awaitingCompletion(BusyFetch)
        case purging
        case delivering
    }

    private var state = State.new
    /// The fetch this request already waited on, if any: it is never waited on twice.
    private var waitedOn: BusyFetch?
    /// The key this request was looked up under; nil for passes and synthetic answers.
    public private(set) var cacheKey: CacheKey?
    /// What the VCL sees and changes: req.*, obj.*, resp.*.
    public private(set) var context: ClientVCLContext
    /// Busy fetches this request created in the store and gave up (VCL chose another path).
    private var released: [BusyFetch] = []
    private var inSynth = false
    let program: VCLProgram
    let maxWaiters: Int
    let maxRestarts: Int
    /// http_gzip_support: fetches for the cache ask for gzip (BackendRequest.prepare).
    let gzipSupport: Bool
    /// The connection's last Accept-Encoding normalisation (CorePolicy.normaliseAcceptEncoding).
    let normalised: CorePolicy.NormalisedFields?

    public init(request: consuming HTTPRequestHead, addresses: ClientAddresses, requestID: String,
                program: VCLProgram, maxWaiters: Int, maxRestarts: Int, now: Double,
                backendTimeouts: BackendTimeouts = .defaults, gzipSupport: Bool = false,
                normalised: CorePolicy.NormalisedFields? = nil, services: VCLServices) {
        self.program = program
        self.maxWaiters = maxWaiters
        self.maxRestarts = maxRestarts
        self.gzipSupport = gzipSupport
        self.normalised = normalised
        self.context = ClientVCLContext(request: request, addresses: addresses, requestID: requestID, now: now,
                                        backendHint: program.defaultBackend,
                                        defaultConnectTimeout: backendTimeouts.connect, services: services)
    }

    public var request: HTTPRequestHead { context.request }

    /// Looks `key` up in `store` for this request (its fields pick the variant, req.ttl and
    /// req.grace limit what is fresh enough). Reading `request` to pass its fields and URL copied
    /// the whole head. `mutating` for the reason `answersNotModified` gives.
    public mutating func lookUp(_ key: CacheKey, in store: CacheStore, now: Double) -> LookupResult {
        store.lookup(key, requestFields: context.request.fields, url: context.request.target,
                     maxAge: context.requestTTL, maxGrace: context.requestGrace, now: now)
    }

    /// The request's method and fields as the VCL left them, read without copying the whole
    /// head as `request` does (`mutating` for the reason `answersNotModified` gives).
    public var requestMethod: String { mutating get { context.request.method } }
    public var requestFields: HTTPFields { mutating get { context.request.fields } }

    /// How many times the VCL restarted this request.
    public var restarts: Int { context.restarts }

    /// Whether there are busy fetches to release, bans or log lines to take. Asked first: most
    /// requests have none, and taking three empty lists was a release of each, twice a request.
    /// `mutating` though it changes nothing, for the reason `answersNotModified` gives.
    public mutating func hasEffects() -> Bool {
        !released.isEmpty || !context.bans.isEmpty || !context.logLines.isEmpty
    }

    /// Busy fetches to release in the store (no marker); empties the list.
    public mutating func takeReleased() -> [BusyFetch] {
        defer { released.removeAll() }
        return released
    }

    /// Bans made by ban() / std.ban() so far; empties the list.
    public mutating func takeBans() -> [BanExpression] {
        defer { context.bans.removeAll() }
        return context.bans
    }

    public mutating func takeLogLines() -> [String] {
        defer { context.logLines.removeAll() }
        return context.logLines
    }

    // MARK: vcl_recv and what it leads to

    /// The request head is complete: run vcl_recv.
    public mutating func start(now: Double) -> Action {
        guard case .new = state else { preconditionFailure("start in \(state)") }
        context.now = now
        CorePolicy.prepare(&context.request)
        if program.readsForwardedFor || program.callsRollback { prepareForVCL() }
        return receive()
    }

    /// What some VCLs need done to the request before vcl_recv (out of line: most need neither).
    @inline(never)
    private mutating func prepareForVCL() {
        if program.readsForwardedFor {
            // As in Varnish, VCL sees X-Forwarded-For with the client's address already added
            // (`if (req.http.X-Forwarded-For) … else set … = client.ip;` adds it once). A VCL
            // that never names the field cannot tell: its fetches add it when they are written.
            BackendRequest.extendForwardedFor(&context.request.fields, clientAddress: context.clientAddress)
            context.forwardedForExtended = true
        }
        if program.callsRollback { context.receivedRequest = context.request }
    }

    private mutating func receive() -> Action {
        // The user's vcl_recv, then (unless it returned) the builtin's, done natively.
        let outcome = program.runUserPart(.recv, &context)
            ?? NativeBuiltin.recv(method: context.request.method, version: context.request.version,
                                  fields: context.request.fields)
        switch outcome {  // matched in place (reading `outcome.name` copied the name)
        case .action("hash", _):
            // A request body cannot be part of a shared fetch: such requests go to the backend alone.
            if context.request.hasBody { return pass() }
            CorePolicy.normaliseAcceptEncoding(&context.request.fields, memo: normalised)
            return hash(then: .lookingUp)
        case .action("pass", _): return pass()
        case .action("pipe", _): return pipe()
        case .action("purge", _): return hash(then: .purging)
        case .action("restart", _): return restart()
        case .action("synth", _): return synth(outcome)
        default: return failed(outcome)
        }
    }

    private mutating func hash(then next: State) -> Action {
        // The user's vcl_hash, then (unless it returned) the builtin's, done natively.
        context.hashParts.removeAll(keepingCapacity: true)
        let key: CacheKey
        if let outcome = program.runUserPart(.hash, &context) {
            guard case .action("lookup", _) = outcome else { return failed(outcome) }
            key = CacheKey(parts: context.hashParts)
        } else {
            key = CacheKey(parts: context.hashParts, url: context.request.target,
                           host: CorePolicy.builtinHashHost(context.request, serverAddress: context.serverAddress))
        }
        cacheKey = key
        if case .purging = next {
            state = .purging
            return .purge(key)
        }
        if context.hashAlwaysMiss {
            return miss(busy: nil, kind: .uriMiss)
        }
        state = .lookingUp
        return .lookup(key)
    }

    private mutating func pass(detail: CacheStatus.Detail? = nil) -> Action {
        let outcome = program.run(.pass, &context)
        switch outcome.name {
        case "fetch":
            state = .delivering
            return fetch(.pass, status: CacheStatus(forward: .bypass, detail: detail))
        case "restart": return restart()
        case "synth": return synth(outcome)
        default: return failed(outcome)
        }
    }

    private mutating func pipe() -> Action {
        // As in Varnish, bereq loses the hop-by-hop fields (Upgrade too) and says Connection:
        // close, so the backend ends the tunnel after one response and no later request on the
        // client's connection reaches it without going through the VCL. A VCL that pipes
        // WebSocket upgrades puts Upgrade and Connection back in vcl_pipe (Varnish's recipe).
        var (head, forwardingLeftOut, _) = backendRequest(forCache: false)
        if forwardingLeftOut {  // a pipe writes its head as it is: the fields go in it
            BackendRequest.addForwarding(to: &head.fields, clientAddress: context.clientAddress,
                                         requestID: context.requestID)
        }
        head.fields.add("Connection", "close")
        context.pipeRequest = head
        let outcome = program.run(.pipe, &context)
        switch outcome.name {
        case "pipe":
            state = .delivering
            return .pipe(context.pipeRequest ?? head, backend: context.backendHint)
        case "synth": return synth(outcome)
        default: return failed(outcome)
        }
    }

    /// The purge removed `count` variants: run vcl_purge.
    public mutating func purged(count: Int, now: Double) -> Action {
        guard case .purging = state else { preconditionFailure("purged in \(state)") }
        context.now = now
        let outcome = program.run(.purge, &context)
        switch outcome.name {
        case "synth": return synth(outcome)
        case "restart": return restart()
        default: return failed(outcome)
        }
    }

    private mutating func restart() -> Action {
        context.restarts += 1
        state = .new
        cacheKey = nil
        waitedOn = nil
        context.object = nil
        context.startCollapsedHit(nil, hits: nil)
        context.response.clear()
        if context.restarts > maxRestarts {
            return synth(status: 503, reason: nil)  // "Service Unavailable", as Varnish answers
        }
        return receive()
    }

    // MARK: vcl_synth

    private mutating func synth(_ outcome: VCLOutcome) -> Action {
        guard case .action(_, let arguments) = outcome, let first = arguments.first,
              case .int(let status) = first else {
            return synth(status: 200, reason: nil)
        }
        let reason = arguments.count > 1 ? arguments[1].optionalString : nil
        return synth(status: status, reason: reason)
    }

    /// Runs vcl_synth for `status`; its reason defaults to the standard phrase.
    public mutating func synth(status: Int, reason: String?) -> Action {
        state = .delivering
        guard !inSynth else { return hardFailure() }
        inSynth = true
        defer { inSynth = false }
        context.response.start(status: status, reason: reason ?? ReasonPhrase.of(status % 1000),
                               object: nil, fields: HTTPFields())
        context.startDelivery(age: nil, cacheStatus: nil, stored: false)
        context.syntheticBody = ""
        let outcome = program.run(.synth, &context)
        switch outcome.name {
        case "deliver":
            return .synthesize(synthesized(body: context.syntheticBody))
        case "restart":
            inSynth = false
            // Past max_restarts, a restart from vcl_synth is not made: the response goes as it is,
            // as in Varnish (restarting again would loop without end).
            if context.restarts > maxRestarts { return .synthesize(synthesized(body: context.syntheticBody)) }
            return restart()
        default:
            return hardFailure()
        }
    }

    /// The response vcl_synth or vcl_deliver left in the context, with `body`, as it is written.
    private func synthesized(body: String) -> SyntheticResponse {
        let response = context.response
        return SyntheticResponse(status: response.status, reason: response.reason, fields: response.fields,
                                 body: body, omitted: context.omittedFields)
    }

    /// `fail` (or a runtime failure): a 503 through vcl_synth, then the connection closes.
    private mutating func failed(_ outcome: VCLOutcome) -> Action {
        if case .failed(let reason) = outcome { context.log("VCL failed: \(reason)") }
        var action = synth(status: 503, reason: "VCL failed")
        if case .synthesize(var response) = action {
            response.closesConnection = true
            action = .synthesize(response)
        }
        return action
    }

    /// vcl_synth itself failed: a bare 503 that needs no VCL.
    private func hardFailure() -> Action {
        .synthesize(SyntheticResponse(status: 503, reason: "VCL failed",
                                      fields: HTTPFields([("Content-Type", "text/plain; charset=utf-8")]),
                                      body: "VCL failed\n", closesConnection: true))
    }

    // MARK: lookup and its outcomes

    /// The store answered the lookup.
    public mutating func lookupFinished(_ result: LookupResult, now: Double) -> Action {
        guard case .lookingUp = state else { preconditionFailure("lookupFinished in \(state)") }
        context.now = now
        switch result {
        case .hit(let object):
            return hit(object, status: CacheStatus(hit: true), refresh: nil, now: now)
        case .graceHit(let object, let refresh):
            let background = refresh.map {
                Fetch(busy: $0, mode: .cacheable(.stale), request: backendRequest(forCache: true),
                      backend: context.backendHint, requestID: context.requestID, isBackground: true)
            }
            return hit(object, status: CacheStatus(hit: true, forward: .stale), refresh: background, now: now)
        case .miss(let busy, let kind):
            return miss(busy: busy, kind: kind)
        case .busy(let busy):
            if busy === waitedOn {
                // That fetch is for another variant and still running: fetch ours alone (it is stored).
                state = .delivering
                return fetch(.hitForMiss, status: CacheStatus(forward: .varyMiss, detail: .busyOtherVariant))
            }
            state = .waiting(busy)
            waitedOn = busy
            return .wait(busy)
        case .hitForMiss:
            context.isHitMiss = true
            return miss(busy: nil, kind: .uriMiss)
        case .hitForPass:
            context.isHitPass = true
            return pass(detail: .hitForPass)
        }
    }

    private mutating func hit(_ object: StoredObject, status: CacheStatus, refresh: Fetch?, now: Double) -> Action {
        context.object = object
        let outcome = program.isTrivial(.hit) ? .action("deliver", []) : program.run(.hit, &context)
        if outcome.name != "deliver", let busy = refresh?.busy { released.append(busy) }
        switch outcome.name {
        case "deliver": return deliver(object, status, now: now, refresh: refresh)
        case "fetch":
            context.object = nil
            return miss(busy: nil, kind: .stale)
        case "pass":
            context.object = nil
            return pass()
        case "restart": return restart()
        case "synth": return synth(outcome)
        default: return failed(outcome)
        }
    }

    /// vcl_miss; `busy` nil fetches alone (hit-for-miss, hash_always_miss, miss from vcl_hit).
    private mutating func miss(busy: BusyFetch?, kind: MissKind) -> Action {
        let outcome = program.isTrivial(.miss) ? .action("fetch", []) : program.run(.miss, &context)
        if outcome.name != "fetch", let busy { released.append(busy) }
        switch outcome.name {
        case "fetch":
            state = .delivering
            guard let busy else {
                let detail: CacheStatus.Detail = context.isHitMiss ? .hitForMiss
                    : context.hashAlwaysMiss ? .alwaysMiss : .miss
                return fetch(.hitForMiss, status: CacheStatus(forward: .miss, detail: detail))
            }
            let forward: CacheStatus.Forward = switch kind {
            case .uriMiss: .uriMiss
            case .varyMiss: .varyMiss
            case .stale: .stale
            }
            return .fetch(Fetch(busy: busy, mode: .cacheable(kind), request: backendRequest(forCache: true),
                                backend: context.backendHint, requestID: context.requestID),
                          CacheStatus(forward: forward))
        case "pass": return pass()
        case "restart": return restart()
        case "synth": return synth(outcome)
        default: return failed(outcome)
        }
    }

    /// The fetch waited on produced its response head.
    public mutating func waitEnded(with head: FetchedHead) -> Action {
        guard case .waiting(let busy) = state else { preconditionFailure("waitEnded in \(state)") }
        if !head.cacheable {
            // Uncacheable: each waiter fetches for itself (the response may be private).
            context.isHitMiss = true
            return miss(busy: nil, kind: .uriMiss)
        }
        guard head.matches(context.request.fields) else {
            state = .awaitingCompletion(busy)
            return .awaitCompletion
        }
        // As in Varnish, a request that waited for the fetch of what it asked for is a hit on
        // it: vcl_hit runs with the fetched response as obj, and obj.hits counts the waiters.
        context.startCollapsedHit(head, hits: busy.recordHit())
        let outcome = program.isTrivial(.hit) ? .action("deliver", []) : program.run(.hit, &context)
        switch outcome.name {
        case "deliver":
            state = .delivering
            return .stream(busy, CacheStatus(forward: .miss, forwardStatus: head.status, stored: true, collapsed: true))
        case "fetch", "miss":
            context.startCollapsedHit(nil, hits: nil)
            return miss(busy: nil, kind: .uriMiss)
        case "pass":
            context.startCollapsedHit(nil, hits: nil)
            return pass()
        case "restart": return restart()
        case "synth": return synth(outcome)
        default: return failed(outcome)
        }
    }

    /// The fetch this request depends on failed before any of the response reached the client.
    /// `stale` is the stored variant usable in its place (grace or stale-if-error), if any.
    /// `response` is the error page vcl_backend_error made, if it made one.
    public mutating func fetchFailed(status: Int, stale: StoredObject?, now: Double,
                                     response: (reason: String, fields: HTTPFields, body: String)? = nil) -> Action {
        context.now = now
        guard let stale else {
            if let response { return deliverBackendError(status: status, response) }
            return synth(status: status, reason: status == 502 ? "Bad Gateway" : "Backend fetch failed")
        }
        context.object = stale
        return deliver(stale, CacheStatus(hit: true, forward: .stale, forwardStatus: status, detail: .staleIfError),
                       now: now)
    }

    /// The response vcl_backend_error made, through vcl_deliver as Varnish delivers it (which may
    /// change its head, restart, or answer with vcl_synth instead).
    private mutating func deliverBackendError(status: Int,
                                              _ response: (reason: String, fields: HTTPFields, body: String)) -> Action {
        state = .delivering
        guard !program.isTrivial(.deliver) else {
            return .synthesize(SyntheticResponse(status: status, reason: response.reason, fields: response.fields,
                                                 body: response.body))
        }
        context.response.start(status: status, reason: response.reason, object: nil, fields: response.fields)
        context.startDelivery(age: nil, cacheStatus: nil, stored: false)
        let outcome = program.run(.deliver, &context)
        switch outcome.name {
        case "deliver": return .synthesize(synthesized(body: response.body))
        case "restart": return restart()
        case "synth": return synth(outcome)
        default: return failed(outcome)
        }
    }

    /// Delivery of a stored object at `now` through vcl_deliver: a 304 when the client's validators
    /// match, its age, and the remaining TTL in Cache-Status (negative when stale).
    private mutating func deliver(_ object: StoredObject, _ status: CacheStatus, now: Double,
                                  refresh: Fetch? = nil) -> Action {
        state = .delivering
        var status = status
        status.ttl = Int(object.remainingTTL(at: now).rounded(.down))
        var edits: ResponseEdits?
        let age = Int(object.age(at: now))
        if !program.isTrivial(.deliver) {
            context.startDelivery(age: age, cacheStatus: status, stored: true)
            context.response.start(stored: object)
            let outcome = program.run(.deliver, &context)
            // Matched in place: reading `outcome.name` copied the name (a retain and a release each time).
            if case .action("deliver", _) = outcome {
                edits = context.responseEdits
            } else {
                if let busy = refresh?.busy { released.append(busy) }
                switch outcome {
                case .action("restart", _): return restart()
                case .action("synth", _): return synth(outcome)
                default: return failed(outcome)
                }
            }
        }
        var statusChanged = false
        if case .replaced(let status, _, _, _)? = edits { statusChanged = status != object.status }
        let notModified = !statusChanged
            && ConditionalRequest.isNotModified(request: context.request.fields, etag: object.etag,
                                                lastModified: object.lastModified)
        return .deliverHit(object, notModified: notModified, status, age: age, refresh: refresh, edits: edits)
    }

    /// vcl_deliver for a response streamed from a fetch, before its head is written; `status` is
    /// the Cache-Status it will be sent with.
    public mutating func deliverStreamed(_ head: FetchedHead, status: CacheStatus, now: Double) -> StreamDelivery {
        context.now = now
        guard !program.isTrivial(.deliver) else { return .deliver(nil) }
        context.response.start(status: head.status, reason: head.reason, object: nil, fields: head.fields)
        context.startDelivery(age: head.age, cacheStatus: status, stored: head.cacheable && status.forward != .bypass,
                              fetched: head)
        let outcome = program.run(.deliver, &context)
        switch outcome.name {
        case "deliver":
            return .deliver(context.responseEdits)
        case "restart": return .replace(restart())
        case "synth": return .replace(synth(outcome))
        default: return .replace(failed(outcome))
        }
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
    public mutating func waitFailed(status: Int = 503, stale: StoredObject? = nil, now: Double = 0,
                                    response: (reason: String, fields: HTTPFields, body: String)? = nil) -> Action {
        switch state {
        case .waiting, .awaitingCompletion: break
        default: preconditionFailure("waitFailed in \(state)")
        }
        state = .delivering
        return fetchFailed(status: status, stale: stale, now: now, response: response)
    }

    /// The waiting list was full: fetch alone instead of waiting.
    public mutating func waitRefused() -> Action {
        guard case .waiting = state else { preconditionFailure("waitRefused in \(state)") }
        state = .delivering
        return fetch(.hitForMiss, status: CacheStatus(forward: .miss, detail: .waitinglistFull))
    }

    private func fetch(_ mode: FetchMode, status: CacheStatus) -> Action {
        // A pass was never looked up, but its fetch is keyed too (invalidation after unsafe methods).
        let key = cacheKey ?? CorePolicy.cacheKey(context.request, serverAddress: context.serverAddress)
        return .fetch(Fetch(busy: nil, key: key, mode: mode, request: backendRequest(forCache: mode != .pass),
                            backend: context.backendHint, requestID: context.requestID), status)
    }

    private func backendRequest(forCache: Bool) -> (head: HTTPRequestHead, forwardingLeftOut: Bool, gzipLeftOut: Bool) {
        BackendRequest.prepare(from: context.request, clientAddress: context.clientAddress, forCache: forCache,
                               requestID: context.requestID, forwardedForExtended: context.forwardedForExtended,
                               gzipSupport: gzipSupport)
    }

    /// Whether a streamed response should reach this client as 304 (validators match a cacheable 2xx).
    /// `mutating` though it changes nothing: called on a flow held by a class, a non-mutating
    /// method made the compiler copy the whole flow (every reference in it retained and released).
    public mutating func answersNotModified(_ head: FetchedHead) -> Bool {
        let request = context.request
        guard head.status == 200, request.method == "GET" || request.method == "HEAD",
              ConditionalRequest.hasValidators(request.fields) else { return false }
        return ConditionalRequest.isNotModified(request: request.fields, etag: head.fields["ETag"],
                                                lastModified: head.fields["Last-Modified"])
    }
}
