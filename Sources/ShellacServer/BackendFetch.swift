// BackendFetch: runs one backend fetch on the client's event loop and hands the response to the
// client that started it; a shared fetch also publishes it into its BusyFetch, from which
// coalesced waiters stream it. vcl_backend_fetch shapes the request and picks the backend; when
// the head arrives the core computes its lifetimes and vcl_backend_response decides whether and
// how long it is stored; a failure goes through vcl_backend_error. A complete cacheable body is
// stored before the end is published, a failed or truncated one never is. Retries once on a fresh
// connection when a reused one fails before answering an idempotent, bodiless request;
// return(retry) starts over, up to max_retries.

import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore
import ShellacVCL

/// Confined to its client's event loop (hence unchecked Sendable, for futures).
final class BackendFetch: BackendExchangeDelegate, @unchecked Sendable {
    let fetch: RequestFlow.Fetch
    /// The request as sent, and as the backend subroutines go on to change it: the VCL's bereq
    /// (the flow's request, plus validators when revalidating a stored object). Read in place: a
    /// copy kept beside it cost two copies of the head a fetch, and a getter would copy it on
    /// every look.
    private var request: HTTPRequestHead {
        _read { yield context.bereq }
    }
    /// The stored object this fetch revalidates; a 304 refreshes it without a body transfer.
    private let revalidating: StoredObject?
    /// The newest ban when a fetch without a busy object began (see CacheStore.insert): bans made
    /// while it runs apply to what it stores. (A busy object knows its own.)
    private var bansBefore = 0
    private var revalidated = false
    private let services: ServerServices
    private let loop: LoopServices
    private let vcl: ActiveVCL
    private var context: BackendVCLContext
    private var pool: BackendPool?
    private var connection: BackendConnection?
    private var reused = false
    private var retried = false
    private var requestTime = 0.0
    private var plan: StoragePlan?
    private var fetchedHead: FetchedHead?
    private var storing = false
    private var chunks: [ByteBuffer] = []
    private var finished = false

    // Request body forwarding (pass with a body): buffered until connected, bounded by the caller.
    private var pendingBody: [ByteBuffer] = []
    private(set) var pendingBodyBytes = 0
    private var bodyEnded = false
    /// The client connection that started this fetch: told when the fetch can take more request
    /// body (it resumes reading). Held strongly (a weak reference would move every retain of the
    /// handler to Swift's slower side-table path) and dropped when the fetch finishes, which every
    /// fetch does (its time limits see to that).
    private var bodySource: ClientConnectionHandler?
    /// The request that started this fetch and streams its response, with its connection. It
    /// runs on this fetch's event loop, so each event is handed to it directly; other requests
    /// subscribe to the busy fetch. As a subscriber it cost a handler closure made for every fetch
    /// and called through the busy fetch for every event. Dropped with the last event, or when
    /// the request stops listening (`detachOwner`).
    private var owner: (handler: ClientConnectionHandler, request: ClientRequest)?

    /// Takes the flow's fetch.
    init(fetch: consuming RequestFlow.Fetch, services: ServerServices, loop: LoopServices, vcl: ActiveVCL,
         addresses: ClientAddresses, revalidating: StoredObject? = nil) {
        var request = fetch.request
        if let revalidating {
            for (name, value) in Revalidation.conditions(etag: revalidating.etag,
                                                         lastModified: revalidating.lastModified) {
                request.fields.set(name, value)
            }
        }
        self.bodyEnded = !request.hasBody
        self.context = BackendVCLContext(bereq: consume request, forwardingLeftOut: fetch.forwardingLeftOut,
                                         gzipLeftOut: fetch.gzipLeftOut,
                                         backend: fetch.backend,
                                         uncacheable: fetch.mode == .pass,
                                         isBackgroundFetch: fetch.isBackground, requestID: fetch.requestID,
                                         addresses: addresses, now: 0,  // start() sets the time
                                         timeouts: loop.perRequest.backendTimeouts,
                                         services: services.vclServices)
        if vcl.program.callsRollback { context.keepOriginal() }
        self.fetch = fetch
        self.services = services
        self.loop = loop
        self.vcl = vcl
        self.revalidating = revalidating
    }

    /// `request`, on `handler`'s connection, started this fetch: it gets the fetch's events and
    /// supplies its request body.
    func attach(owner handler: ClientConnectionHandler, request: ClientRequest) {
        owner = (handler, request)
        bodySource = handler
    }

    /// The request that started the fetch stops listening (it went away or took another path).
    func detachOwner() {
        owner = nil
    }

    /// Private fetches (pass, hit-for-miss) serve only their own client; shared ones serve waiters too.
    var isPrivate: Bool {
        if case .cacheable = fetch.mode { return false }
        return true
    }

    func start() {
        context.now = services.now()
        if context.retries == 0 {
            context.fetchStarted = context.now
            if fetch.busy == nil { bansBefore = services.store.newestBan }
        }
        let outcome = vcl.program.run(.backendFetch, &context)
        applyBans()
        switch outcome {
        case .action("fetch", _):
            break
        case .action("error", let arguments):
            let (status, reason) = BackendResponsePolicy.errorResponse(arguments)
            fail(.vclError(status, reason))
            return
        case .action(let name, _):
            fail(.abandoned("vcl_backend_fetch returned \(name)"))
            return
        case .failed(let reason):
            fail(.abandoned("vcl_backend_fetch failed: \(reason)"))
            return
        }
        guard let hint = context.backend else {
            fail(.noBackend)
            return
        }
        // A director picks its member now, for this attempt (a retry asks again, and may have
        // named another backend).
        context.chosenBackend = nil
        if !vcl.program.directors.isEmpty {
            guard let picked = vcl.program.resolve(hint, health: context) else {
                fail(.sick)
                return
            }
            context.chosenBackend = picked
        }
        let backend = context.chosenBackend ?? hint
        guard let pool = loop.pool(for: backend, in: vcl) else {
            fail(.noBackend)
            return
        }
        guard services.isHealthy(backend, now: context.now) else {
            fail(.sick)
            return
        }
        self.pool = pool
        if let host = pool.definition.hostHeader, !request.fields.contains("Host") {
            context.bereq.fields.add("Host", host)
        }
        if let limit = pool.definition.maxConnections, heldSlot == nil {
            let slots = services.slots(for: pool.definition, limit: limit)
            let p = services.parameters
            if slots.inUse >= slots.limit { services.counters.increment(.backendWaits) }
            slots.acquire(on: pool.eventLoop, maxWaiters: p.int("backend_wait_max"),
                          timeout: .duration(p["backend_wait_timeout"])).whenComplete { result in
                switch result {
                case .success:
                    self.heldSlot = slots
                    guard !self.finished else { return self.releaseSlot() }
                    self.connect(pool, backend: backend, now: self.services.now())
                case .failure(let refusal):
                    self.services.counters.increment(.backendBusy)
                    self.fail(.busy(refusal as? BackendSlots.Refusal == .queueFull ? "wait queue full" : "timed out"))
                }
            }
            return
        }
        // Straight on from vcl_backend_fetch: the request goes out at the time it ran.
        connect(pool, backend: backend, now: context.now)
    }

    /// The metrics of the backend the request went to.
    private var sentMetrics: MetricsExporter.BackendMetrics?
    /// When the request went to the backend, for the first-byte latency histogram: the wall
    /// clock the fetch reads anyway (a monotonic clock cost two more readings a fetch; a step of
    /// the system clock can skew one sample, never below zero).
    private var sentAt: Double?

    /// The slot of `.max_connections` this fetch holds, if the backend has a limit.
    private var heldSlot: BackendSlots?

    private func releaseSlot() {
        heldSlot?.release()
        heldSlot = nil
    }

    /// `now`: when the request is sent (the request time of RFC 9111 §4.2.3's age calculation).
    private func connect(_ pool: BackendPool, backend: String, now: Double) {
        services.counters.increment(.fetches)
        sentMetrics = pool.metrics
        requestTime = now
        // A backend that takes a PROXY header gets a new connection for every request, as in
        // Varnish: the header speaks for one client.
        if pool.definition.proxyHeader == nil, let connection = pool.takeIdle() {
            connected(connection, reused: true, at: now)
            return
        }
        pool.connect(timeout: connectTimeout(pool)).whenComplete { result in
            switch result {
            case .success(let connection): self.connected(connection, reused: false, at: self.services.now())
            case .failure(let error):
                let failure = error as? BackendError ?? .connectFailed("\(error)")
                if failure.countsAgainstBackend {
                    self.services.health.recordConnectFailure(backend, now: self.services.now())
                }
                self.fail(failure)
            }
        }
    }

    /// Bans made by the backend subroutines go to the store as they are made.
    private func applyBans() {
        for ban in context.bans {
            services.store.ban(ban, now: services.now())
            services.counters.increment(.bans)
        }
        context.bans.removeAll()
    }

    /// VCL's bereq.connect_timeout, else the backend's .connect_timeout, else the parameter.
    private func connectTimeout(_ pool: BackendPool) -> Double {
        context.connectTimeout ?? pool.definition.connectTimeout ?? loop.perRequest.backendTimeouts.connect
    }

    /// `sendTime`: when the request goes out on the connection (wall-clock seconds).
    private func connected(_ connection: BackendConnection, reused: Bool, at sendTime: Double) {
        guard !finished, let pool else {
            pool?.release(connection, reusable: true)
            return
        }
        self.connection = connection
        self.reused = reused
        let limits = loop.perRequest
        let definition = pool.definition
        sentAt = sendTime
        let firstByte = context.firstByteTimeout ?? definition.firstByteTimeout ?? limits.backendTimeouts.firstByte
        let betweenBytes = context.betweenBytesTimeout ?? definition.betweenBytesTimeout
            ?? limits.backendTimeouts.betweenBytes
        if let version = definition.proxyHeader, !reused {
            connection.sendPreamble(ProxyProtocol.header(version: version, ends: context.addresses.ends))
        }
        connection.send(request, forwarding: context.leftOutForwarding, delegate: self,
                        firstByte: .duration(firstByte), betweenBytes: .duration(betweenBytes))
        for chunk in pendingBody { connection.sendBody(chunk, chunked: isChunked) }
        pendingBody.removeAll()
        pendingBodyBytes = 0
        if bodyEnded && request.hasBody { connection.endBody(chunked: isChunked) }
        bodySource?.bodyDemand()
    }

    private var isChunked: Bool { request.framing == .chunked }

    // MARK: request body from the client

    /// Whether more request body may be handed over without growing buffers.
    var wantsMoreBody: Bool {
        guard let connection else { return pendingBodyBytes < 64 * 1024 }
        return connection.isWritable
    }

    func requestBodyPart(_ chunk: ByteBuffer) {
        guard !finished else { return }
        if let connection {
            connection.sendBody(chunk, chunked: isChunked)
        } else {
            pendingBody.append(chunk)
            pendingBodyBytes += chunk.readableBytes
        }
    }

    func requestBodyEnd() {
        bodyEnded = true
        guard !finished, let connection else { return }
        connection.endBody(chunked: isChunked)
    }

    /// The client went away (or its body broke off: the backend must not see a request that
    /// looks complete). Failing discards the connection before closing it, so its close is not
    /// taken for a reused connection failing, which would retry for a client long gone.
    func abort() {
        fail(.clientGone)
    }

    // MARK: backend events

    func backendResponseHead(_ head: consuming HTTPResponseHead) {
        let now = services.now()
        if let name = context.chosenBackend ?? context.backend {
            services.health.recordSuccess(name)
            if let sentAt { sentMetrics?.recordFirstByte(seconds: now - sentAt) }
        }
        if head.status >= 500, fetch.mode != .pass,
           services.store.staleForError(fetch.key, requestFields: request.fields, now: now) != nil {
            // A stale copy may stand in (grace, stale-if-error): the 5xx is a failure, never stored.
            fail(.serverError(head.status))
            return
        }
        if head.status == 304, let stored = revalidating {
            // §4.3.4: the stored response, its fields updated by the 304's, its body reused.
            revalidated = true
            services.counters.increment(.revalidated)
            var updates = head.fields  // without hop-by-hop fields, as every head here
            // RFC 9110 §6.6.1: a message cached without Date gets the time it was received.
            if !updates.contains("Date") { updates.add("Date", services.dateCache.value(now: now)) }
            head = HTTPResponseHead(version: head.version, status: stored.status, reason: stored.reason,
                                    fields: Revalidation.merge(stored: stored.fields, notModified: updates),
                                    framing: .contentLength(stored.bodyLength))
        }
        // The fields move out of the head, so the changes below are made in place rather than
        // to a copy of a list the head still shares.
        let headContentLength = request.method == "HEAD" ? head.fields["Content-Length"].flatMap { Int($0) } : nil
        var fields = HTTPFields()
        swap(&fields, &head.fields)
        // The head came without its hop-by-hop fields (the connection's parser leaves them out)
        // and, but for the answer to a HEAD, without Content-Length: the framing is written anew.
        if request.method == "HEAD" { fields.remove("Content-Length", nameBit: KnownName.contentLength) }
        if fetch.mode == .pass { invalidateAfterUnsafeMethod(status: head.status, fields: fields) }
        let plan = CorePolicy.lifetimes(status: head.status, fields: fields, requestTime: requestTime,
                                        responseTime: now, defaults: loop.perRequest)
        context.now = now
        let verdict = BackendResponsePolicy.evaluate(program: vcl.program, context: &context, status: head.status,
                                                     reason: head.reason, fields: fields, plan: plan,
                                                     pass: fetch.mode == .pass, was304: revalidated)
        applyBans()
        var hitForMissTTL: Double?
        var markerPasses = false
        switch verdict {
        case .deliver(let store, let marker, let passes):
            storing = store
            hitForMissTTL = marker
            markerPasses = passes
        case .retry:
            retry()
            return
        case .error(let status, let reason):
            fail(.vclError(status, reason))
            return
        case .abandon(let why):
            fail(.abandoned(why))
            return
        }
        // The fields vcl_backend_response left are taken from the context (done with them), again
        // so that they are changed in place.
        fields = HTTPFields()
        var final = context.response.take()!
        swap(&fields, &final.fields)
        // Tags (surrogate keys) are for the cache: kept with the object, never delivered.
        let tagHeader = services.tagHeader, tagHeaderBit = services.tagHeaderBit
        if fields.contains(tagHeader, nameBit: tagHeaderBit) {
            tags = fields.values(tagHeader, nameBit: tagHeaderBit)
                .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) }
            fields.remove(tagHeader, nameBit: tagHeaderBit)
        } else {
            tags = []
        }
        // Variants are told apart by the Vary the VCL left (as in Varnish), not the backend's.
        // beresp.do_gzip / do_gunzip: the body is coded as it comes; its length is then unknown
        // until the end (clients of the fetch get it chunked, the stored object its own length).
        if final.doGzip || final.doGunzip {
            let hasBody = request.method != "HEAD" && !revalidated && final.status != 204 && final.status != 304
                && head.framing != .none && head.framing != .contentLength(0)
            coder = BodyCoding.decide(doGzip: final.doGzip, doGunzip: final.doGunzip, hasBody: hasBody,
                                      fields: &fields, requestTakesGzip: context.bereqTakesGzip)
                .map { GzipCoder($0 == .gzip ? .compress : .decompress) }
        } else {
            coder = nil
        }
        var varyNames = Vary.names(fields)
        if let names = varyNames, !names.isEmpty, loop.perRequest.gzipSupport, names.contains("accept-encoding") {
            // As in Varnish: the one (gzip) copy serves every client, decompressed for those that
            // do not take gzip; the Vary field still goes out as the backend sent it.
            varyNames = names.filter { $0 != "accept-encoding" }
        }
        self.plan = StoragePlan(ttl: final.ttl, grace: final.grace, keep: final.keep, initialAge: plan.initialAge,
                                staleIfError: plan.staleIfError)
        let age = plan.initialAge
        if case .contentLength(let n) = head.framing, n > services.store.budget { storing = false }
        if !storing, case .cacheable = fetch.mode {
            // Waiters fetch for themselves; a marker keeps later requests from queueing.
            services.store.release(fetch.key, busy: fetch.busy, hitForMissTTL: hitForMissTTL, passes: markerPasses,
                                   now: now)
        } else if !storing, fetch.mode == .hitForMiss, let hitForMissTTL {
            services.store.release(fetch.key, busy: fetch.busy, hitForMissTTL: hitForMissTTL, passes: markerPasses,
                                   now: now)
        }
        fields.remove("Age", nameBit: KnownName.age)
        if !fields.contains("Date", nameBit: KnownName.date) { fields.add("Date", services.dateCache.value(now: now)) }
        var contentLength: Int? = switch head.framing {
        case .contentLength(let n): n
        case .none: 0
        case .chunked, .untilClose: nil
        }
        if request.method == "HEAD" {
            // No body follows a HEAD response; its Content-Length describes the GET's body.
            contentLength = headContentLength
        }
        if coder != nil { contentLength = nil }
        let names = varyNames ?? []
        let fetched = FetchedHead(status: final.status, reason: final.reason, fields: fields,
                                  contentLength: contentLength, cacheable: storing, varyNames: names,
                                  varyValues: Vary.values(for: names, in: request.fields),
                                  age: Int(age), ttl: final.ttl, grace: final.grace, keep: final.keep)
        fetchedHead = fetched
        if fetch.busy?.publishHead(fetched, retainBody: storing) ?? true { toOwner(.head(fetched)) }
    }

    func backendResponseBody(_ chunk: ByteBuffer) {
        guard let coder else { return take(chunk) }
        do {
            let coded = try coder.process(chunk, allocator: Self.allocator)
            if coded.readableBytes > 0 { take(coded) }
        } catch {
            failCoding(coder, error)
        }
    }

    private static let allocator = ByteBufferAllocator()

    /// A body that cannot be coded (corrupt gzip) fails the fetch: what was sent of it is cut
    /// short, and none of it is stored.
    private func failCoding(_ coder: GzipCoder, _ error: GzipCoder.Failure) {
        self.coder = nil
        fail(.abandoned("the body could not be \(coder.mode == .compress ? "compressed" : "decompressed"): \(error)"))
    }

    /// A piece of the body as it is stored and delivered (coded, when the VCL asked for it).
    private func take(_ chunk: ByteBuffer) {
        if storing {
            chunks.append(chunk)
            storedBytes += chunk.readableBytes
            if storedBytes > services.store.budget { stopStoring() }
        }
        // Each piece is published when the next arrives or its read is handled (see
        // backendReadComplete), the last one only after the object is stored: a client that has
        // the whole body can rely on the object being in the cache.
        if let previous = heldChunk { publishBody(previous) }
        heldChunk = chunk
    }

    /// The backend read is handled and the body goes on in a later one: the piece held back goes
    /// to the clients now, not when the next one comes (which may be long after).
    func backendReadComplete() {
        guard !finished, let held = heldChunk else { return }
        heldChunk = nil
        publishBody(held)
    }

    /// RFC 9111 §4.4: a non-error answer to an unsafe method invalidates the target URI, and the
    /// Location / Content-Location URIs on the same host.
    private func invalidateAfterUnsafeMethod(status: Int, fields: HTTPFields) {
        guard !["GET", "HEAD", "OPTIONS", "TRACE"].contains(request.method), (200..<400).contains(status) else {
            return
        }
        // The fetch's key is the target URI's cache key (as the flow computed it).
        var keys = [fetch.key]
        if let host = request.fields["Host"]?.asciiLowercased() {
            for name in ["Location", "Content-Location"] {
                guard let value = fields[name] else { continue }
                if let path = value.hasPrefix("/") ? value : Self.sameHostPath(value, host: host) {
                    keys.append(CacheKey(parts: [path, host]))
                }
            }
        }
        for key in keys where services.store.invalidate(key) > 0 {
            services.counters.increment(.invalidations)
        }
    }

    /// The path of an absolute http(s) URI whose authority is `host`, else nil.
    private static func sameHostPath(_ uri: String, host: String) -> String? {
        for scheme in ["http://", "https://"] where uri.hasPrefixIgnoringASCIICase(scheme) {
            let rest = uri.dropFirst(scheme.count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            guard rest[..<slash].asciiLowercased() == host else { return nil }
            return slash == rest.endIndex ? "/" : String(rest[slash...])
        }
        return nil
    }

    private var heldChunk: ByteBuffer?
    /// Compresses or decompresses the body as it comes (beresp.do_gzip / do_gunzip).
    private var coder: GzipCoder?
    /// The response's tags (from the tag header), stored with the object.
    private var tags: [String] = []
    private var storedBytes = 0

    /// A body of unannounced length outgrew the whole budget: pass it through instead of storing it.
    private func stopStoring() {
        storing = false
        chunks.removeAll()
        if case .cacheable = fetch.mode {
            services.store.release(fetch.key, busy: fetch.busy, hitForMissTTL: nil, now: services.now())
        }
        fetch.busy?.stopRetainingBody()
    }

    func backendResponseEnd(connectionReusable: Bool) {
        if let coder = coder.take() {
            do {
                let rest = try coder.finish(allocator: Self.allocator)
                if rest.readableBytes > 0 { take(rest) }
            } catch {
                return failCoding(coder, error)
            }
        }
        // A backend may answer before reading our whole request body: then the connection is spent.
        if let connection = connection.take() {
            pool?.release(connection, reusable: connectionReusable && bodyEnded && pool?.definition.proxyHeader == nil)
        }
        finished = true
        bodySource = nil
        releaseSlot()
        sentMetrics?.recordFetch(failed: false)
        if revalidated, let stored = revalidating {
            // The 304 carried no body: the stored one is delivered (and kept) as it is.
            if stored.bodyLength > 0 { take(stored.body) }
        }

        if storing, let head = fetchedHead, let plan {
            // The object copies the pieces once into its own exactly-sized buffer: they are slices of
            // read buffers that can pin far more memory than the object.
            let object = StoredObject(key: fetch.key, status: head.status, reason: head.reason,
                                      fields: head.fields, body: chunks,
                                      varyNames: head.varyNames,
                                      varyValues: head.varyValues, storedAt: services.now(),
                                      initialAge: plan.initialAge, ttl: plan.ttl, grace: plan.grace, keep: plan.keep,
                                      staleIfError: plan.staleIfError, tags: tags)
            services.store.insert(object, completing: fetch.busy, bansBefore: bansBefore, now: object.storedAt)
        }
        chunks.removeAll()
        if let last = heldChunk { publishBody(last) }
        heldChunk = nil
        if fetch.busy?.publishEnd() ?? true { toOwner(.end, last: true) }
    }

    private func publishBody(_ chunk: ByteBuffer) {
        if fetch.busy?.publishBody(chunk) ?? true { toOwner(.body(chunk)) }
    }

    /// Hands an event (one the busy fetch took, or any of a private fetch) to the request that
    /// started the fetch; after the last one the fetch lets go of it.
    private func toOwner(_ event: FetchEvent, last: Bool = false) {
        guard let owner = last ? owner.take() : owner else { return }
        owner.handler.fetchEvent(event, owner.request, from: fetch.busy)
    }

    func backendExchangeFailed(_ error: BackendError, receivedAnything: Bool) {
        let idempotent = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"].contains(request.method)
        if !receivedAnything && reused && !retried && idempotent && !request.hasBody && !finished {
            retried = true
            connection = nil
            services.counters.increment(.backendRetries)
            guard let pool else { return fail(error) }
            pool.connect(timeout: connectTimeout(pool)).whenComplete { result in
                switch result {
                case .success(let connection): self.connected(connection, reused: false, at: self.services.now())
                case .failure(let error): self.fail(error as? BackendError ?? .connectFailed("\(error)"))
                }
            }
            return
        }
        fail(error)
    }

    /// The client's socket filled up or drained. A private fetch (one reader) follows its client's
    /// pace so its body is never buffered whole; a shared fetch keeps going for the cache and the
    /// other waiters.
    func clientWritabilityChanged(_ writable: Bool) {
        guard isPrivate, let connection else { return }
        if writable {
            connection.handler.resumeReading()
        } else {
            services.counters.increment(.backendReadsPaused)
            connection.handler.pauseReading()
        }
    }

    func backendWritabilityChanged(_ writable: Bool) {
        if writable { bodySource?.bodyDemand() }
    }

    /// The connection's response will not be read to its end: it cannot be reused.
    private func discardConnection() {
        if let connection {
            connection.handler.delegate = nil
            connection.channel.close(promise: nil)
        }
        connection = nil
    }

    /// return(retry): start over from vcl_backend_fetch on a new connection, up to max_retries;
    /// then vcl_backend_error.
    private func retry() {
        discardConnection()
        chunks.removeAll()
        heldChunk = nil
        coder = nil
        fetchedHead = nil
        context.response = nil
        let exhausted = context.retries >= services.parameters.int("max_retries")
        guard !exhausted, !request.hasBody else {
            retriesExhausted = true
            // As in Varnish, vcl_backend_error then reads one retry past max_retries.
            if exhausted { context.retries += 1 }
            fail(.notRetried(exhausted ? "too many retries" : "the request body was sent already"))
            return
        }
        context.retries += 1
        // bereq goes again as the backend subroutines left it, as in Varnish (since 4.0.2); a VCL
        // that wants the original back calls std.rollback(bereq).
        revalidated = false
        retried = false
        services.counters.increment(.backendRetries)
        start()
    }

    private enum ErrorHandling {
        /// The page vcl_backend_error made, for every client of the fetch without a stale copy.
        case page(reason: String, fields: HTTPFields, body: String)
        case retry
        /// Abandoned, or a stale copy may stand in (clients then prefer it).
        case none
    }

    /// vcl_backend_error for a fetch that produced nothing for the client yet.
    private func backendError(for error: BackendError) -> ErrorHandling {
        let now = services.now()
        switch error {
        case .abandoned, .clientGone: return .none
        default: break
        }
        if fetch.mode != .pass, case .serverError = error { return .none }
        if fetch.mode != .pass,
           services.store.staleForError(fetch.key, requestFields: request.fields, now: now) != nil {
            return .none
        }
        var fields = HTTPFields([("Date", services.dateCache.value(now: now))])
        fields.add("Server", "Shellac")
        let reason = if case .vclError(_, let reason) = error { reason } else {
            error.status == 502 ? "Bad Gateway" : "Backend fetch failed"
        }
        context.response = BackendResponseState(status: error.status, reason: reason, fields: fields, ttl: 0,
                                                grace: 0, keep: 0, uncacheable: true)
        context.syntheticBody = ""
        context.now = now
        let outcome = vcl.program.run(.backendError, &context)
        applyBans()
        switch outcome.name {
        case "deliver":
            guard let response = context.response else { return .none }
            return .page(reason: response.reason, fields: response.fields, body: context.syntheticBody)
        case "retry" where !retriesExhausted:
            return .retry
        default:
            return .none
        }
    }

    private var retriesExhausted = false

    private func fail(_ error: BackendError) {
        guard !finished else { return }
        discardConnection()  // whatever the backend still sends is unread
        var page: (reason: String, fields: HTTPFields, body: String)?
        var status = error.status
        if fetchedHead == nil {
            switch backendError(for: error) {
            case .retry:
                retry()
                return
            case .page(let reason, let fields, let body):
                page = (reason, fields, body)
                status = context.response?.status ?? status
            case .none:
                break
            }
        }
        finished = true
        bodySource = nil
        releaseSlot()
        chunks.removeAll()
        heldChunk = nil
        if error.isFetchFailure {
            sentMetrics?.recordFetch(failed: true)
            services.counters.increment(.fetchFailures)
            if fetchedHead != nil { services.counters.increment(.truncatedBodies) }
        }
        if case .cacheable = fetch.mode {
            services.store.release(fetch.key, busy: fetch.busy, hitForMissTTL: nil, now: services.now())
        }
        let failure = FetchFailure(status: status, reason: error.description, response: page)
        if fetch.busy?.publishFailure(failure) ?? true { toOwner(.failed(failure), last: true) }
    }
}
