// ClientConnectionHandler+Lifecycle: the end of each response (keep the connection or close
// it), the idle, head and body timers, and closing. Same event loop and state as the handler.

import NIOCore
import ShellacCore

extension ClientConnectionHandler {
    /// The response is complete: keep the connection for the next request, or close it.
    func finishResponse(_ request: ClientRequest) {
        guard !request.done else { return }
        request.done = true
        writeHeldHead()
        let restarts = request.flow.restarts
        if restarts > 0 { services.counters.increment(.restarts, by: restarts) }
        if let log = services.accessLog { logAccess(request, to: log) }
        request.waitTimer?.cancel()
        unsubscribe(request)
        if let fetch = request.fetch, fetch.isPrivate, !request.bodyComplete {
            fetch.abort()
        }
        current = nil
        let reusable = request.keepAlive && !closing && !services.isDraining && !inputClosed
            && (request.bodyComplete || discardsRest(of: request))
        if !reusable {
            if inputClosed && request.bodyComplete && !closing && !services.isDraining {
                // Half-closed client: answer any complete requests it already sent, then close.
                if !processing { processBuffer() }
                if current == nil && !processing { closeAfterFlush() }
                return
            }
            closeAfterFlush()
            return
        }
        needsFlush = true
        if !processing {
            processBuffer()
            readMoreIfWanted()
        }
    }

    func logAccess(_ request: ClientRequest, to log: AccessLog) {
        let head = request.flow.request
        var firstByte = 0.0
        if let sent = request.firstByte, let arrived = request.arrived {
            firstByte = Double((sent - arrived).nanoseconds) / 1e9
        }
        log.append(AccessLog.line(client: addresses.client, time: services.now(), method: head.method,
                                  target: head.target, version: head.version.text, status: request.loggedStatus,
                                  bytes: request.bodyBytes,
                                  referer: head.fields["Referer"], userAgent: head.fields["User-Agent"],
                                  handling: request.handling, firstByte: firstByte))
    }

    /// The client went away: waiting stops, a private fetch is abandoned, a shared one carries on.
    func abandon(_ request: ClientRequest) {
        request.done = true
        request.waitTimer?.cancel()
        unsubscribe(request)
        if let fetch = request.fetch, fetch.isPrivate { fetch.abort() }
    }

    /// The response ended before its request's body (an app answering 401 or 413 before taking
    /// the upload, a synthetic answer to a POST): the rest is read and dropped so the connection
    /// carries the next request, as long as it is within http_req_body_discard. Closing instead
    /// would leave the client's unread upload to reset the connection. A client that expected
    /// 100 Continue and was not sent one sends no body: that connection closes.
    func discardsRest(of request: ClientRequest) -> Bool {
        guard parser.isInBody, !request.expectsContinue || request.fetch != nil else { return false }
        let limit = services.parameters.int("http_req_body_discard")
        if let left = parser.bodyBytesLeft, left > limit { return false }
        discardLeft = limit
        return true
    }

    /// Writes made for a fetch's events (which arrive outside this channel's reads) go out together
    /// once the event loop has handled its current batch of I/O: a response whose head and body
    /// came in one backend read leaves in one write.
    func flushSoon() {
        needsFlush = true
        guard !flushScheduled else { return }
        flushScheduled = true
        if loopServices.flushes.isOpen {
            loopServices.flushes.add(self)
            return
        }
        context.eventLoop.execute {
            self.flushScheduled = false
            self.flushIfNeeded()
        }
    }

    /// The backend read that wrote to this connection is done (see FlushBatch).
    func flushFromBatch() {
        flushScheduled = false
        flushIfNeeded()
    }

    func flushIfNeeded() {
        guard needsFlush, !closed else { return }
        writeHeldHead()
        needsFlush = false
        context.flush()
    }


    /// The connection is idle from now: it is closed once `timeout_idle` passes without a request.
    /// Keep-alive connections go idle after every response, so this only moves a deadline; the
    /// loop's IdleTimeouts looks at the connection when the deadline it was given comes, and then
    /// again at the one it finds.
    func armIdleTimer() {
        let deadline = NIODeadline.now() + .duration(loopServices.perRequest.idleTimeout)
        idleDeadline = deadline
        if idleHandle == nil { loopServices.idleConnections.add(self, at: deadline) }
    }

    /// IdleTimeouts' look at the connection once its deadline came (it is out of the heap now).
    func idleCheck(now: NIODeadline) {
        guard !closed else { return }
        guard let deadline = idleDeadline else { return }  // busy with a request: armed again after it
        if deadline > now {
            loopServices.idleConnections.add(self, at: deadline)
            return
        }
        guard current == nil, !parser.isMidHead(buffered: buffer.readableBytes) else { return }
        // Not idle while the last response is still going out to a slow reader: the send watch
        // decides, and the idle time starts once it is all out.
        guard !watchSendingIfUnsent() else { return }
        closeNow()
    }

    /// Like IdleTimeouts, the head, body, wait and pipe timers hold the handler strongly (a weak
    /// reference gives it a side table, and every later retain of it takes the slower path for
    /// the rest of the connection); closing cancels them (cancelTimers, abandon, channelInactive).
    func armHeadTimer() {
        guard headTimer == nil else { return }
        let timeout = TimeAmount.duration(services.parameters["timeout_req"])
        headTimer = context.eventLoop.scheduleTask(in: timeout) {
            guard self.current == nil, !self.closed else { return }
            self.headTimer = nil
            self.writeSynthetic(status: 408, reason: "Request Timeout", requestID: self.services.requestID(),
                                isHEAD: false, keepAlive: false)
            self.closeAfterFlush()
        }
    }

    func armBodyTimer() {
        bodyTimer?.cancel()
        let timeout = TimeAmount.duration(services.parameters["timeout_body"])
        bodyTimer = context.eventLoop.scheduleTask(in: timeout) {
            guard !self.closed else { return }
            guard let request = self.current else {
                if self.discardLeft != nil { self.closeNow() }  // the rest being dropped stopped coming
                return
            }
            guard !request.bodyComplete else { return }
            request.done = true
            self.unsubscribe(request)
            if let fetch = request.fetch, fetch.isPrivate { fetch.abort() }  // a shared fetch serves others
            self.current = nil
            if request.responseStarted {
                self.closeNow()
            } else {
                self.writeSynthetic(status: 408, reason: "Request Timeout", requestID: request.id, isHEAD: false,
                                    keepAlive: false)
                self.closeAfterFlush()
            }
        }
    }

    func cancelTimers() {
        idleDeadline = nil
        loopServices.idleConnections.remove(self)
        headTimer?.cancel()
        bodyTimer?.cancel()
        headTimer = nil
        bodyTimer = nil
    }

    func closeAfterFlush() {
        guard !closing || !closed else { return }
        closing = true
        cancelTimers()
        writeHeldHead()
        needsFlush = false
        context.flush()
        guard !closed else { return }  // the flush failed, and the channel is closed already
        // Usually all of it went out with the flush and the connection closes now. Otherwise it
        // closes once the rest is out, and a client that does not take the rest is watched (it
        // would hold the connection open for ever).
        guard watchSendingIfUnsent() else {
            context.close(promise: nil)
            return
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func closeNow() {
        closing = true
        cancelTimers()
        dropHeldHead()
        context.close(promise: nil)
    }
}
