// ClientConnectionHandler: one client connection. Parses requests with the strict parser,
// enforces the idle, head (slowloris) and body timeouts, answers pipelined requests strictly in
// order (the next head is not parsed until the current response is done and the client is taking
// the answers already written), runs each request's RequestFlow and carries out its actions:
// hits are written from the stored buffers, misses and passes stream from a BusyFetch. Reading is
// explicit (autoRead off), so buffered input stays bounded. Confined to the channel's event loop.
// Writing responses lives in +Responses, the end of a response, timers and closing in
// +Lifecycle, clients behind on their responses in +SendWatch, return(pipe) in +Pipe.

import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore

final class ClientConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let services: ServerServices
    let loopServices: LoopServices
    var parser: HTTPRequestParser
    var buffer = ByteBuffer()
    var context: ChannelHandlerContext!
    var current: ClientRequest?
    var closing = false
    var closed = false
    var inputClosed = false
    var processing = false
    /// The time a request started, while its start runs (vcl_recv, then usually the lookup, in
    /// the same call): the lookup takes it rather than reading the clock again. Nil otherwise.
    private var startTime: Double?
    var needsFlush = false
    var flushScheduled = false
    /// A read was asked of the channel and no input has come of it yet (see requestRead).
    var readRequested = false
    /// The connection's place in its loop's IdleTimeouts, while it has one.
    var idleHandle: DeadlineHeap<ClientConnectionHandler>.Handle?
    /// A client behind on its responses, and the next check of it (see +SendWatch).
    var sendWatch: SendWatch?
    var sendCheck: Scheduled<Void>?
    /// The channel is not writable: the client is not taking what was written as fast as it
    /// comes (kept from the writability events, as asking the channel costs a hundred
    /// instructions). Answering the requests held back meanwhile is to resume (see
    /// resumeHeldRequests).
    var clientBehind = false
    var resumeScheduled = false
    /// When an idle connection is closed; nil while a request is being read or answered.
    var idleDeadline: NIODeadline?
    var headTimer: Scheduled<Void>?
    var bodyTimer: Scheduled<Void>?
    /// A response ended before its request's body: the rest is read and dropped, up to this many
    /// more bytes (see discardsRest). Nil otherwise.
    var discardLeft: Int?
    /// client.ip, server.ip (and their ports), remote.ip and local.ip for this connection's requests.
    var addresses = ClientAddresses(client: "0.0.0.0", server: "0.0.0.0")
    /// The last Accept-Encoding normalisation on this connection (its requests' heads repeat).
    let normalisedFields = CorePolicy.NormalisedFields()
    /// The listener is marked PROXY and the connection's PROXY header has not been read yet.
    var expectsProxyHeader: Bool
    /// return(pipe): bytes flow to `pipePeer` (the backend) untouched; nothing more is parsed.
    var piping = false
    var pipePeer: (any Channel)?
    var pipeTimer: Scheduled<Void>?
    var pipeActivity = NIODeadline.now()
    /// Input kept buffered at most: a full head plus some pipelined requests.
    let maxBuffered: Int

    init(services: ServerServices, loopServices: LoopServices, expectsProxyHeader: Bool = false) {
        self.services = services
        self.loopServices = loopServices
        self.expectsProxyHeader = expectsProxyHeader
        self.parser = HTTPRequestParser(limits: services.limits)
        self.maxBuffered = services.limits.maxHeadSize + 64 * 1024
        services.liveClientHandlers.made()
    }

    deinit {
        services.liveClientHandlers.freed()
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// The context holds this handler; the reference back is dropped when the pipeline lets go
    /// of the handler, or neither would ever be freed (every closed connection leaked both).
    /// Nothing reaches for the context after this: every path that could checks `closed` first.
    func handlerRemoved(context: ChannelHandlerContext) {
        closed = true
        cancelTimers()
        stopWatchingSending()
        dropHeldHead()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        services.counters.increment(.clientConnections)
        services.connections.add(context.channel)
        let remote = context.channel.remoteAddress, local = context.channel.localAddress
        addresses = ClientAddresses(client: remote?.addressText ?? "0.0.0.0", clientPort: remote?.port ?? 0,
                                    server: local?.addressText ?? "0.0.0.0", serverPort: local?.port ?? 0)
        if services.isDraining {
            closeNow()
            return
        }
        armIdleTimer()
        requestRead()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        dropHeldHead()
        pipeTimer?.cancel()
        pipePeer?.close(promise: nil)
        services.connections.remove(context.channel)
        cancelTimers()
        stopWatchingSending()
        if let request = current {
            abandon(request)
        }
        current = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readRequested = false  // the channel answers a read with input (then it wants another)
        var incoming = unwrapInboundIn(data)
        if piping {
            pipeRead(&incoming)
            return
        }
        idleDeadline = nil
        if buffer.readableBytes == 0 {
            buffer = incoming
        } else {
            buffer.writeBuffer(&incoming)
        }
        if parser.isInBody { armBodyTimer() }
        processBuffer()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded()
        readMoreIfWanted()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent {
            if current == nil { closeNow() } else { closing = true }
        } else if case ChannelEvent.inputClosed = event, piping {
            pipePeer?.close(mode: .output, promise: nil)
        } else if case ChannelEvent.inputClosed = event {
            // The client half-closed: answer what it already sent, then close.
            inputClosed = true
            if current == nil {
                processBuffer()
                if current == nil { closeAfterFlush() }
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        clientBehind = !context.channel.isWritable
        current?.fetch?.clientWritabilityChanged(!clientBehind)
        if clientBehind {
            watchSending()
        } else {
            sendWatch?.drained()
            if piping { pipePeer?.read() }  // the client took the backend's bytes: more
            if current == nil, buffer.readableBytes > 0 { resumeHeldRequests() }
            if let request = current, request.lagging { catchUp(request) }
            if let request = current, request.gunzipPump != nil { pumpGunzipped(request) }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Requests held back while the client was not taking its responses are answered now, from
    /// a task of their own: the channel became writable inside a flush, which may be the end of
    /// answering the request before them.
    func resumeHeldRequests() {
        guard !resumeScheduled, !closed, !piping else { return }
        resumeScheduled = true
        context.eventLoop.execute {
            self.resumeScheduled = false
            guard !self.closed else { return }
            self.processBuffer()
            self.readMoreIfWanted()
        }
    }

    /// Writes the pieces a lagging client missed, pulled from its fetch, while its socket takes them.
    func catchUp(_ request: ClientRequest) {
        guard let busy = request.subscription?.busy else { return }
        guard let pieces = busy.bodyPieces(from: request.nextPiece) else {
            closeNow()  // the fetch stopped keeping its body (it outgrew the budget): cannot catch up
            return
        }
        for piece in pieces {
            guard context.channel.isWritable, current === request, !request.done else { return }
            request.nextPiece += 1
            writeBody(piece, request)
        }
        guard current === request, !request.done, request.nextPiece >= request.pieceEvents else { return }
        request.lagging = false
        if request.streamEnded {
            endBody(request)
            finishResponse(request)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeNow()
    }

    // MARK: parsing

    func processBuffer() {
        guard !processing else { return }
        processing = true
        defer {
            processing = false
            flushIfNeeded()
        }
        if expectsProxyHeader, !readProxyHeader() { return }
        reading: while !closing && !closed && !piping {
            if let current {
                // Pipelined heads wait until the current response is done; bodies flow if the fetch wants them.
                guard parser.isInBody else { break }
                if let fetch = current.fetch, !fetch.wantsMoreBody { break }
            } else if clientBehind {
                // Nor are they answered while the client is not taking the answers already
                // written: one connection pipelining requests it never read the answers to had
                // them all answered into memory, without end.
                break
            }
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next(from: &buffer)
            } catch {
                reject(error)
                break
            }
            // Consumed, optional and all (unwrapping it first copied it): the head moves on into
            // the request's flow instead of being copied there.
            switch consume event {
            case nil:
                break reading
            case .head(let head)?:
                headTimer?.cancel()
                headTimer = nil
                startRequest(consume head)
            case .body(let chunk)?:
                if let current {
                    current.fetch?.requestBodyPart(chunk)
                } else if let left = discardLeft {
                    guard left >= chunk.readableBytes else {
                        closeAfterFlush()  // more than is worth reading to keep the connection
                        break reading
                    }
                    discardLeft = left - chunk.readableBytes
                }
            case .end?:
                bodyTimer?.cancel()
                bodyTimer = nil
                discardLeft = nil
                if let current {
                    current.bodyComplete = true
                    current.fetch?.requestBodyEnd()
                }
            }
        }
        guard current == nil, !closing, !closed, !piping else { return }
        // Requests held back until the client takes its responses: the send watch times that.
        if buffer.readableBytes > 0, clientBehind { return }
        if parser.isInBody {
            armBodyTimer()  // the rest of a body being dropped
        } else if parser.isMidHead(buffered: buffer.readableBytes) {
            armHeadTimer()
        } else if buffer.readableBytes == 0 {
            if inputClosed { closeAfterFlush() } else { armIdleTimer() }
        }
    }

    /// The PROXY header a listener marked PROXY reads before anything else: true once it is
    /// read (the addresses it names become client.ip and server.ip), false while it is
    /// incomplete (the head timer bounds the wait) or when the connection is closed for a bad one.
    func readProxyHeader() -> Bool {
        switch buffer.withUnsafeReadableBytes({ ProxyProtocol.parse($0) }) {
        case .needMore:
            if buffer.readableBytes > 0 { armHeadTimer() }
            return false
        case .invalid:
            services.counters.increment(.clientBadRequests)
            closeNow()  // the peer is a proxy speaking another protocol: nothing to answer it in
            return false
        case .header(let length, let named):
            buffer.moveReaderIndex(forwardBy: length)
            expectsProxyHeader = false
            if let named { addresses = addresses.proxied(as: named) }
            return true
        }
    }

    func readMoreIfWanted() {
        if piping {
            if let pipePeer, pipePeer.isWritable, !closed { context.read() }
            return
        }
        guard !closed, !closing, !inputClosed, buffer.readableBytes < maxBuffered else { return }
        if let request = current, !request.bodyComplete {
            if let fetch = request.fetch, parser.isInBody, !fetch.wantsMoreBody {
                // We hold the body back, not the client: its idle timer does not run meanwhile.
                bodyTimer?.cancel()
                bodyTimer = nil
                return
            }
            if bodyTimer == nil { armBodyTimer() }
        }
        requestRead()
    }

    /// Asks the channel for input unless a read it was asked for has brought none yet: the
    /// channel keeps one read pending until input arrives, and asking again (after every
    /// response, on a connection already waiting for its next request) walked the pipeline to
    /// the socket for nothing.
    func requestRead() {
        guard !readRequested else { return }
        readRequested = true
        context.read()
    }

    /// The fetch can take more request body.
    func bodyDemand() {
        guard !processing else { return }
        processBuffer()
        readMoreIfWanted()
    }

    /// A malformed request: answer with its status and close; nothing after it is parsed.
    func reject(_ error: HTTPParseError) {
        services.counters.increment(.clientBadRequests)
        if current == nil, discardLeft != nil {
            closeAfterFlush()  // the body being dropped is malformed: its response is out already
            return
        }
        if let request = current {
            // Stop listening before aborting, so the aborted fetch cannot answer for us.
            request.done = true
            unsubscribe(request)
            if let fetch = request.fetch, fetch.isPrivate { fetch.abort() }  // a shared fetch serves others
            current = nil
            if request.responseStarted {
                closeNow()
                return
            }
        }
        cancelTimers()
        writeSynthetic(status: error.status, reason: ReasonPhrase.of(error.status),
                       requestID: services.requestID(), isHEAD: false, keepAlive: false)
        closeAfterFlush()
    }

    // MARK: requests

    func startRequest(_ head: consuming HTTPRequestHead) {
        services.counters.increment(.clientRequests)
        let id = services.requestID()
        var expectsContinue = false
        var expectationFailed = false
        if let expect = head.fields["Expect", nameBit: KnownName.expect] {
            if expect.equalsIgnoringASCIICase("100-continue") {
                expectsContinue = head.version == .http1_1 && head.hasBody
            } else {
                expectationFailed = true
            }
        }
        let vcl = loopServices.vcl
        let settings = loopServices.perRequest
        let shape = ClientRequest.Shape(head)
        let keepAlive = head.keepAlive && !inputClosed
        // One reading of the clock for the request's start (it was read twice, microseconds apart).
        let now = services.now()
        let request = ClientRequest(
            id: id, shape: shape,
            flow: RequestFlow(request: head, addresses: addresses, requestID: id, program: vcl.program,
                              maxWaiters: settings.maxWaiters, maxRestarts: settings.maxRestarts, now: now,
                              backendTimeouts: settings.backendTimeouts, gzipSupport: settings.gzipSupport,
                              normalised: normalisedFields, services: services.vclServices),
            vcl: vcl, keepAlive: keepAlive, expectsContinue: expectsContinue, timed: services.accessLog != nil)
        current = request
        if shape.hasBody { armBodyTimer() }
        if expectationFailed {
            request.keepAlive = false
            writeSynthetic(status: 417, reason: "Expectation Failed", requestID: id, isHEAD: request.isHEAD,
                           keepAlive: false)
            finishResponse(request)
            return
        }
        startTime = now
        defer { startTime = nil }
        run(request.flow.start(now: now), request)
    }

    /// What the flow produced besides its action: busy fetches it gave up, bans, log lines.
    func applyFlowEffects(_ request: ClientRequest) {
        guard request.flow.hasEffects() else { return }
        for busy in request.flow.takeReleased() {
            services.store.release(busy, hitForMissTTL: nil, now: services.now())
        }
        for ban in request.flow.takeBans() {
            services.store.ban(ban, now: services.now())
            services.counters.increment(.bans)
        }
        for line in request.flow.takeLogLines() {
            services.logger.info("vcl: \(line)", metadata: ["xid": "\(request.id)"])
        }
    }

    func run(_ action: consuming RequestFlow.Action, _ request: ClientRequest) {
        applyFlowEffects(request)
        // Consumed: the payloads move out of the action rather than being copied and released.
        switch consume action {
        case .synthesize(let response):
            services.counters.increment(.synth)
            if response.closesConnection {
                services.counters.increment(.vclFailures)
                request.keepAlive = false
            }
            request.responding(status: response.status % 1000, handling: "synth")
            request.bodyBytes = request.isHEAD ? 0 : response.body.utf8.count
            writeSynthetic(response, requestID: request.id, isHEAD: request.isHEAD,
                           keepAlive: keepsAlive(request) && request.bodyComplete)
            finishResponse(request)
        case .lookup(let key):
            let now = startTime ?? services.now()
            let result = request.flow.lookUp(key, in: services.store, now: now)
            run(request.flow.lookupFinished(result, now: now), request)
        case .purge(let key):
            let count = services.store.invalidate(key)
            services.counters.increment(.purges)
            run(request.flow.purged(count: count, now: services.now()), request)
        case .pipe(let head, let backend):
            services.counters.increment(.pipes)
            request.responding(status: 0, handling: "pipe")
            startPipe(head, backend: backend, request)
        case .deliverHit(let object, let notModified, let status, let age, let refresh, let edits):
            services.counters.increment(.hits)
            // Stale and without a failed fetch's status: a grace hit, not a stale-if-error answer.
            if status.forward == .stale && status.forwardStatus == nil { services.counters.increment(.graceHits) }
            if let refresh, !(refresh.backend.map { request.vcl.program.isHealthy($0, health: request.flow.context) }
                                ?? false) {
                // A sick backend is not tried: the stale object keeps answering.
                services.store.release(refresh.key, busy: refresh.busy, hitForMissTTL: nil, now: services.now())
            } else if let refresh {
                // Nobody waits on a background fetch: it refreshes the store, or fails and the
                // stale object stays.
                services.counters.increment(.backgroundFetches)
                let revalidating = object.etag != nil || object.lastModified != nil ? object : nil
                BackendFetch(fetch: refresh, services: services, loop: loopServices, vcl: request.vcl,
                             addresses: addresses, revalidating: revalidating).start()
            }
            var answered = object.status
            if case .replaced(let replaced, _, _, _)? = edits { answered = replaced }
            request.responding(status: notModified ? 304 : answered, handling: "hit")
            request.bodyBytes = notModified || request.isHEAD ? 0 : object.bodyLength
            writeHit(object, notModified: notModified, status: status, age: age, edits: edits, request: request)
            // A body decompressed as it goes out ends the response itself (pumpGunzipped).
            if request.gunzipPump == nil { finishResponse(request) }
        case .fetch(let fetch, let status):
            switch fetch.mode {
            case .pass: services.counters.increment(.passes)
            case .cacheable: services.counters.increment(.misses)
            case .hitForMiss: services.counters.increment(.hitForMiss)
            }
            request.cacheStatus = status
            if request.expectsContinue && !request.bodyComplete {
                let interim = context.channel.allocator.buffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")
                context.write(wrapOutboundOut(interim), promise: nil)
                needsFlush = true
            }
            var revalidating: StoredObject?
            if case .cacheable(.stale) = fetch.mode, let key = request.flow.cacheKey {
                revalidating = services.store.revalidationCandidate(key, requestFields: request.flow.requestFields)
            }
            let busy = fetch.busy
            let backendFetch = BackendFetch(fetch: consume fetch, services: services, loop: loopServices,
                                            vcl: request.vcl, addresses: addresses,
                                            revalidating: revalidating)
            request.fetch = backendFetch
            request.subscription = (busy, nil)
            backendFetch.attach(owner: self, request: request)
            backendFetch.start()
        case .wait(let busy):
            services.counters.increment(.coalescedWaits)
            request.waiting = true
            guard subscribe(request, to: busy) else {
                request.waiting = false
                services.counters.increment(.waitinglistFull)
                run(request.flow.waitRefused(), request)
                return
            }
            if request.waiting {
                let timeout = TimeAmount.duration(services.parameters["waitinglist_timeout"])
                request.waitTimer = context.eventLoop.scheduleTask(in: timeout) {
                    guard request.waiting || request.awaitingCompletion, self.current === request else {
                        return
                    }
                    request.waiting = false
                    request.awaitingCompletion = false
                    self.unsubscribe(request)
                    self.run(request.flow.waitFailed(stale: self.staleFallback(request), now: self.services.now()),
                             request)
                }
            }
        case .stream:
            preconditionFailure("stream is only returned by waitEnded")
        case .awaitCompletion:
            preconditionFailure("awaitCompletion is only returned by waitEnded")
        }
    }

    /// Subscribes a waiting request to another's fetch; replays what already arrived. False when
    /// the waiting list is full.
    func subscribe(_ request: ClientRequest, to busy: BusyFetch) -> Bool {
        let eventLoop = context.eventLoop
        let target = NIOLoopBound((handler: self, request: request), eventLoop: eventLoop)
        let subscribed = busy.subscribe(isWaiter: true) { event in
            if eventLoop.inEventLoop {
                let (handler, request) = target.value  // read once: each read checks the loop again
                handler.fetchEvent(event, request, from: busy)
            } else {
                eventLoop.execute { target.value.handler.fetchEvent(event, target.value.request, from: busy) }
            }
        }
        guard let (id, replay) = subscribed else { return false }
        request.subscription = (busy, id)
        for event in replay { fetchEvent(event, request, from: busy) }
        return true
    }

    func unsubscribe(_ request: ClientRequest) {
        if let subscription = request.subscription {
            if let id = subscription.id {
                subscription.busy?.unsubscribe(id)
            } else {
                request.fetch?.detachOwner()
            }
            request.subscription = nil
        }
    }

    /// An event from `busy`. Ignored unless `busy` is still what the request listens to: a waiter
    /// that moved on to its own fetch must not act on the rest of an earlier replay.
    /// `busy` is nil for the events of a private fetch, which come from the fetch itself.
    func fetchEvent(_ event: FetchEvent, _ request: ClientRequest, from busy: BusyFetch?) {
        guard current === request, !request.done, !closed, let subscription = request.subscription,
              subscription.busy === busy else { return }
        if request.awaitingCompletion {
            switch event {
            case .end, .failed:
                request.awaitingCompletion = false
                request.waitTimer?.cancel()
                unsubscribe(request)
                run(request.flow.fetchCompleted(), request)
            case .head, .body:
                break
            }
            return
        }
        if request.waiting {
            switch event {
            case .head(let head):
                request.waiting = false
                request.waitTimer?.cancel()
                let action = request.flow.waitEnded(with: head)
                if case .stream(_, let status) = action {
                    services.counters.increment(.hits)  // a waiter whose vcl_hit delivered
                    request.cacheStatus = status
                    deliverStreamed(head, request)
                } else if case .awaitCompletion = action {
                    request.awaitingCompletion = true
                } else {
                    unsubscribe(request)
                    run(action, request)
                }
            case .failed(let failure):
                request.waiting = false
                request.waitTimer?.cancel()
                unsubscribe(request)
                run(request.flow.waitFailed(status: failure.status, stale: staleFallback(request), now: services.now(),
                                            response: failure.response), request)
            case .body, .end:
                break
            }
            return
        }
        switch event {
        case .head(let head):
            request.cacheStatus.forwardStatus = head.status
            if request.cacheStatus.forward != .bypass { request.cacheStatus.stored = head.cacheable }
            deliverStreamed(head, request)
        case .body(let chunk):
            let index = request.pieceEvents
            request.pieceEvents += 1
            guard index >= request.nextPiece, !request.lagging else { return }  // pulled already, or behind
            if !context.channel.isWritable, request.fetch?.isPrivate != true, busy?.retainsBody == true {
                // A shared stream does not wait for a slow reader and is not queued for it either:
                // the client pulls the pieces from the fetch once its socket drains.
                request.lagging = true
                services.counters.increment(.laggingClients)
                return
            }
            request.nextPiece = index + 1
            writeBody(chunk, request)
        case .end:
            if request.lagging {
                request.streamEnded = true
                return
            }
            endBody(request)
            finishResponse(request)
        case .failed(let failure):
            if request.responseStarted {
                // A truncated response must look truncated: no terminating chunk, the connection breaks.
                closeNow()
            } else {
                unsubscribe(request)
                let stale = staleFallback(request)
                run(request.flow.fetchFailed(status: failure.status, stale: stale, now: services.now(),
                                             response: failure.response), request)
            }
        }
    }

    /// vcl_deliver for a response arriving from a fetch: write it (with the VCL's changes), or
    /// stop listening and do what the VCL said instead (synth, restart).
    func deliverStreamed(_ head: FetchedHead, _ request: ClientRequest) {
        switch request.flow.deliverStreamed(head, status: request.cacheStatus, now: services.now()) {
        case .deliver(let edits):
            applyFlowEffects(request)
            guard let edits else {
                startStreamedResponse(head, omitting: [], request)  // as it came: no copy to edit
                return
            }
            let edited: FetchedHead
            switch edits {
            case .replaced(let status, let reason, let fields, _):
                edited = head.replacing(status: status, reason: reason, fields: fields)
            case .added:
                edited = head.replacing(status: head.status, reason: head.reason, fields: edits.applied(to: head.fields))
            }
            startStreamedResponse(edited, omitting: edits.omitted, request)
        case .replace(let action):
            unsubscribe(request)
            if let fetch = request.fetch, fetch.isPrivate { fetch.abort() }
            request.fetch = nil
            run(action, request)
        }
    }

    /// A stored variant that may answer instead of an error (within grace or stale-if-error).
    func staleFallback(_ request: ClientRequest) -> StoredObject? {
        guard let key = request.flow.cacheKey else { return nil }
        let stale = services.store.staleForError(key, requestFields: request.flow.requestFields, now: services.now())
        if stale != nil { services.counters.increment(.staleOnError) }
        return stale
    }
}
