// ClientConnectionHandler+Responses: how responses are written to the client — hits from the
// stored buffers, streamed responses with our own framing, 206/416 cut from either, 304s and
// synthetic pages. Same event loop and state as the handler.

import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore

extension ClientConnectionHandler {

    /// Whether this response may announce keep-alive: not when the server is draining.
    func keepsAlive(_ request: ClientRequest) -> Bool {
        request.keepAlive && !closing && !services.isDraining
    }

    /// A stored object: its pre-serialised head and body as they are, or, when vcl_deliver changed
    /// the response, a head built from its changes (the body is still the stored one).
    func writeHit(_ object: StoredObject, notModified: Bool, status: CacheStatus, age: Int, edits: ResponseEdits?,
                  request: ClientRequest) {
        if object.isGzip && deliversGunzipped(request) {
            return writeGunzippedHit(object, notModified: notModified, status: status, age: age, edits: edits,
                                     request: request)
        }
        request.keepAlive = keepsAlive(request)
        // Asked for only where a head is built anew: asking the channel costs about a hundred
        // instructions, and most hits write into the loop's head buffer.
        var allocator: ByteBufferAllocator { context.channel.allocator }
        let omitted = edits?.omitted ?? []
        // The response's fields, read from the stored head only where a head is built anew.
        var fields: HTTPFields { Self.fields(of: object, editedBy: edits) }
        if notModified {
            services.counters.increment(.notModified)
            if isReplaced(edits) {
                let head = ResponseHead.notModified(fields: fields, age: age, requestID: request.id,
                                                    cacheStatus: status, omitting: omitted,
                                                    keepAlive: request.keepAlive, http10KeepAlive: request.isHTTP10,
                                                    allocator: allocator)
                context.write(wrapOutboundOut(head), promise: nil)
            } else {
                let (added, removed) = Self.storedHeadEdits(edits)
                claimHeadBuffer()
                ResponseHead.notModifiedHit(into: &loopServices.headBuffer, stored: object.headBlock, added: added,
                                            removing: removed, age: age, requestID: request.id, cacheStatus: status,
                                            omitting: omitted, keepAlive: request.keepAlive,
                                            http10KeepAlive: request.isHTTP10)
                context.write(wrapOutboundOut(loopServices.headBuffer), promise: nil)
            }
        } else if let answer = rangeAnswer(request, status: object.status, length: object.bodyLength,
                                           etag: object.etag, lastModified: object.lastModified) {
            if case .partial(let range) = answer, !isReplaced(edits) {
                let (added, removed) = Self.storedHeadEdits(edits)
                claimHeadBuffer()
                ResponseHead.partialHit(into: &loopServices.headBuffer, stored: object.headBlock, added: added,
                                        removing: removed, range: range, length: object.bodyLength, age: age,
                                        requestID: request.id, cacheStatus: status, omitting: omitted,
                                        keepAlive: request.keepAlive, http10KeepAlive: request.isHTTP10)
                context.write(wrapOutboundOut(loopServices.headBuffer), promise: nil)
            } else {
                let head = rangeHead(answer, fields: fields, length: object.bodyLength, age: age,
                                     cacheStatus: status, omitting: omitted, request: request)
                context.write(wrapOutboundOut(head), promise: nil)
            }
            if case .partial(let range) = answer {
                let body = object.body
                context.write(wrapOutboundOut(body.getSlice(at: body.readerIndex + range.lowerBound,
                                                            length: range.count)!), promise: nil)
            }
        } else if case .replaced(let newStatus, let reason, _, _)? = edits {
            let bodyless = object.status == 204 || object.status == 304
            let head = ResponseHead.full(status: newStatus, reason: reason, fields: fields, age: age,
                                         requestID: request.id, cacheStatus: status, omitting: omitted,
                                         framing: bodyless ? .none : .contentLength(object.bodyLength),
                                         keepAlive: request.keepAlive, http10KeepAlive: request.isHTTP10,
                                         allocator: allocator)
            context.write(wrapOutboundOut(head), promise: nil)
            if !request.isHEAD && object.bodyLength > 0 {
                context.write(wrapOutboundOut(object.body), promise: nil)
            }
        } else {
            let (added, removed) = Self.storedHeadEdits(edits)
            claimHeadBuffer()
            ResponseHead.hitHead(into: &loopServices.headBuffer, stored: object.headBlock,
                                 contentLength: object.contentLength, added: added, removing: removed, age: age,
                                 requestID: request.id,
                                 cacheStatus: status, omitting: omitted, keepAlive: request.keepAlive,
                                 http10KeepAlive: request.isHTTP10)
            context.write(wrapOutboundOut(loopServices.headBuffer), promise: nil)
            if !request.isHEAD && object.bodyLength > 0 {
                context.write(wrapOutboundOut(object.body), promise: nil)
            }
        }
        needsFlush = true
    }

    /// Whether vcl_deliver gave the response a head of its own (else the stored head is written,
    /// with what it added and less what it removed).
    private func isReplaced(_ edits: ResponseEdits?) -> Bool {
        if case .replaced? = edits { return true }
        return false
    }

    /// What vcl_deliver added to the stored head and removed from it (nothing, unless it edited
    /// the head without replacing it).
    static func storedHeadEdits(_ edits: ResponseEdits?) -> (AddedFields, FieldLines) {
        if case .added(let added, let removed, _)? = edits { return (added, removed) }
        return (AddedFields(), FieldLines())
    }

    /// A stored object's fields as vcl_deliver left them.
    static func fields(of object: StoredObject, editedBy edits: ResponseEdits?) -> HTTPFields {
        edits?.applied(to: object) ?? object.fields
    }

    /// A fetched response's head with our framing; `omitted` are the automatic fields vcl_deliver
    /// unset or set itself.
    func startStreamedResponse(_ head: FetchedHead, omitting omitted: AutomaticFields, _ request: ClientRequest) {
        if head.isGzip && deliversGunzipped(request) {
            // Decompressed as it streams: its length is unknown (chunked), and no range is cut from it.
            let plain = head.recoded(fields: BodyCoding.gunzipped(head.fields))
            request.gunzip = GzipCoder(.decompress)
            return startStreamedResponse(plain, omitting: omitted, request)
        }
        request.responseStarted = true
        // A request that waited for this fetch took its response as a hit (as in Varnish).
        let handling = request.cacheStatus.forward == .bypass ? "pass" : request.cacheStatus.collapsed ? "hit" : "miss"
        request.responding(status: head.status, handling: handling)
        request.keepAlive = keepsAlive(request)
        var allocator: ByteBufferAllocator { context.channel.allocator }  // as in writeHit
        var bodyless = request.isHEAD || head.status == 204 || head.status == 304
        let buffer: ByteBuffer
        if request.flow.answersNotModified(head) {
            services.counters.increment(.notModified)
            bodyless = true
            buffer = ResponseHead.notModified(fields: head.fields, age: head.age, requestID: request.id,
                                              cacheStatus: request.cacheStatus, omitting: omitted,
                                              keepAlive: request.keepAlive,
                                              http10KeepAlive: request.isHTTP10, allocator: allocator)
        } else if let length = head.contentLength,
                  let answer = rangeAnswer(request, status: head.status, length: length, etag: head.fields["ETag"],
                                           lastModified: head.fields["Last-Modified"]) {
            buffer = rangeHead(answer, fields: head.fields, length: length, age: head.age,
                               cacheStatus: request.cacheStatus, omitting: omitted, request: request)
            if case .partial(let range) = answer {
                request.rangeWindow = range
                request.framing = .contentLength(range.count)
            } else {
                bodyless = true
            }
        } else {
            var announced: ResponseFraming
            if let length = head.contentLength {
                announced = head.status == 204 || head.status == 304 ? .none : .contentLength(length)
            } else if bodyless {
                announced = .none
            } else if request.isHTTP10 {
                announced = .close
                request.keepAlive = false
            } else {
                announced = .chunked
            }
            request.framing = bodyless ? .none : announced
            // Inside a backend read the body usually follows at once: a small one is joined to
            // the head, which waits for it in the loop's head buffer (see writeBody).
            var bodyRoom = 0
            if !bodyless, loopServices.flushes.isOpen, case .contentLength(let length) = announced,
               length <= Self.bodyJoinedToHeadLimit {
                bodyRoom = length
            }
            claimHeadBuffer()
            ResponseHead.full(into: &loopServices.headBuffer, status: head.status, reason: head.reason,
                              fields: head.fields, age: head.age, requestID: request.id,
                              cacheStatus: request.cacheStatus, omitting: omitted, framing: announced,
                              keepAlive: request.keepAlive, http10KeepAlive: request.isHTTP10, bodyRoom: bodyRoom)
            if bodyRoom > 0 {
                loopServices.headHolder = self
                flushSoon()
                return
            }
            buffer = loopServices.headBuffer
        }
        context.write(wrapOutboundOut(buffer), promise: nil)
        flushSoon()
        if bodyless {
            finishResponse(request)
        }
    }

    func writeBody(_ chunk: ByteBuffer, _ request: ClientRequest) {
        guard chunk.readableBytes > 0 else { return }
        if let coder = request.gunzip {
            do {
                let plain = try coder.process(chunk, allocator: context.channel.allocator)
                if plain.readableBytes > 0 { writePlainBody(plain, request) }
            } catch {
                closeNow()  // as a truncated response: the body breaks off
            }
            return
        }
        writePlainBody(chunk, request)
    }

    /// A piece of body as it goes out (decompressed already, if it was to be), with the response's
    /// framing and range.
    @inline(__always)
    func writePlainBody(_ chunk: ByteBuffer, _ request: ClientRequest) {
        request.bodyBytes += chunk.readableBytes
        if let window = request.rangeWindow {
            let start = request.streamOffset
            request.streamOffset += chunk.readableBytes
            let piece = start...(request.streamOffset - 1)
            if piece.overlaps(window) {
                let from = max(window.lowerBound, start) - start
                let to = min(window.upperBound, piece.upperBound) - start
                context.write(wrapOutboundOut(chunk.getSlice(at: chunk.readerIndex + from, length: to - from + 1)!),
                              promise: nil)
                flushSoon()
            }
            // The client has its range; the fetch goes on for the cache and other clients.
            if request.streamOffset > window.upperBound { finishResponse(request) }
            return
        }
        switch request.framing {
        case .none:
            return
        case .chunked:
            var prefix = context.channel.allocator.buffer(capacity: 18)
            prefix.writeString(String(chunk.readableBytes, radix: 16))
            prefix.writeStaticString("\r\n")
            context.write(wrapOutboundOut(prefix), promise: nil)
            context.write(wrapOutboundOut(chunk), promise: nil)
            context.write(wrapOutboundOut(context.channel.allocator.buffer(staticString: "\r\n")), promise: nil)
        case .contentLength, .close:
            if holdsHead {
                if loopServices.headBuffer.writableBytes >= chunk.readableBytes {
                    loopServices.headBuffer.writeImmutableBuffer(chunk)
                    flushSoon()
                    return
                }
                writeHeldHead()
            }
            context.write(wrapOutboundOut(chunk), promise: nil)
        }
        flushSoon()
    }

    /// Streamed bodies up to this size that arrive while their head waits in the loop's head
    /// buffer are copied in behind it, so head and body reach the channel as one write: a write
    /// through the pipeline costs more than copying a few KiB. A hit's body, a shared stored
    /// buffer, is never copied.
    static let bodyJoinedToHeadLimit = 8 * 1024

    /// Sends the head this connection holds back in the loop's head buffer, with any body
    /// joined to it. The check inline: every response's end asks, and a call cost 44
    /// instructions a hit.
    @inline(__always)
    func writeHeldHead() {
        if holdsHead { sendHeldHead() }
    }

    /// Whether this connection's response head waits in the loop's head buffer.
    private var holdsHead: Bool { loopServices.headHolder === self }

    private func sendHeldHead() {
        loopServices.headHolder = nil
        guard !closed else { return }
        context.write(wrapOutboundOut(loopServices.headBuffer), promise: nil)
        needsFlush = true
    }

    /// Frees the loop's head buffer for a new head: a head held back there goes out first.
    func claimHeadBuffer() {
        loopServices.headHolder?.writeHeldHead()
    }

    /// The connection is going away: a head it holds back is dropped with it.
    func dropHeldHead() {
        if holdsHead { loopServices.headHolder = nil }
    }

    /// How to answer a Range request from a complete 200 body of `length` bytes; nil: no Range
    /// handling applies (not GET, a pass (the backend answers ranges itself), or another status).
    /// The validators are read only for a request with a Range.
    func rangeAnswer(_ request: ClientRequest, status: Int, length: Int, etag: @autoclosure () -> String?,
                     lastModified: @autoclosure () -> String?) -> RangeRequest.Answer? {
        guard status == 200, request.flow.requestMethod == "GET", request.cacheStatus.forward != .bypass else {
            return nil
        }
        let fields = request.flow.requestFields
        guard fields.contains("Range", nameBit: KnownName.range) else { return nil }
        let answer = RangeRequest.evaluate(request: fields, length: length, etag: etag(),
                                           lastModified: lastModified())
        return answer == .full ? nil : answer
    }

    /// The head of a 206 (with Content-Range) or a 416 (with the length we have).
    func rangeHead(_ answer: RangeRequest.Answer, fields: HTTPFields, length: Int, age: Int,
                   cacheStatus: CacheStatus, omitting omitted: AutomaticFields, request: ClientRequest) -> ByteBuffer {
        var fields = fields
        let status: Int
        let framing: ResponseFraming
        switch answer {
        case .partial(let range):
            status = 206
            fields.set("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound)/\(length)")
            framing = .contentLength(range.count)
        case .unsatisfiable, .full:
            status = 416
            fields = HTTPFields([("Date", services.dateCache.value(now: services.now())),
                                 ("Content-Range", "bytes */\(length)")])
            framing = .contentLength(0)
        }
        return ResponseHead.full(status: status, reason: ReasonPhrase.of(status), fields: fields, age: age,
                                 requestID: request.id, cacheStatus: cacheStatus, omitting: omitted, framing: framing,
                                 keepAlive: request.keepAlive, http10KeepAlive: request.isHTTP10,
                                 allocator: context.channel.allocator)
    }

    func endBody(_ request: ClientRequest) {
        if let coder = request.gunzip {
            request.gunzip = nil
            do {
                let rest = try coder.finish(allocator: context.channel.allocator)
                if rest.readableBytes > 0 { writePlainBody(rest, request) }
            } catch {
                closeNow()
                return
            }
        }
        if case .chunked = request.framing {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(staticString: "0\r\n\r\n")), promise: nil)
        }
        flushSoon()
    }

    /// A response vcl_synth or vcl_backend_error made. A status outside 100–999 (users signal with
    /// synth(7xx) and the like) goes out as its last three digits, as Varnish sends it.
    func writeSynthetic(_ response: RequestFlow.SyntheticResponse, requestID: String, isHEAD: Bool, keepAlive: Bool) {
        var fields = response.fields
        if !fields.contains("Date") { fields.add("Date", services.dateCache.value(now: services.now())) }
        fields.remove("Content-Length")
        fields.remove("Transfer-Encoding")
        HopByHop.strip(&fields)
        var status = response.status
        if status >= 1000 { status %= 1000 }
        if status < 100 { status = 503 }
        let body = response.body
        let allocator = context.channel.allocator
        let head = ResponseHead.full(status: status, reason: response.reason, fields: fields, age: nil,
                                     requestID: requestID, cacheStatus: nil, omitting: response.omitted,
                                     framing: .contentLength(body.utf8.count), keepAlive: keepAlive,
                                     http10KeepAlive: false, allocator: allocator)
        context.write(wrapOutboundOut(head), promise: nil)
        if !isHEAD && !body.isEmpty {
            context.write(wrapOutboundOut(allocator.buffer(string: body)), promise: nil)
        }
        needsFlush = true
    }

    /// A response made before any VCL runs (malformed requests, timeouts, 417).
    func writeSynthetic(status: Int, reason: String, requestID: String, isHEAD: Bool, keepAlive: Bool) {
        let body = Synthetic.page(status: status, reason: reason, requestID: requestID)
        var fields = HTTPFields([("Date", services.dateCache.value(now: services.now())),
                                 ("Server", "Shellac"),
                                 ("Content-Type", "text/html; charset=utf-8")])
        if status == 503 { fields.add("Retry-After", "5") }
        let allocator = context.channel.allocator
        let head = ResponseHead.full(status: status, reason: reason, fields: fields, age: nil, requestID: requestID,
                                     cacheStatus: nil, framing: .contentLength(body.utf8.count), keepAlive: keepAlive,
                                     http10KeepAlive: false, allocator: allocator)
        context.write(wrapOutboundOut(head), promise: nil)
        if !isHEAD {
            context.write(wrapOutboundOut(allocator.buffer(string: body)), promise: nil)
        }
        needsFlush = true
    }
}
