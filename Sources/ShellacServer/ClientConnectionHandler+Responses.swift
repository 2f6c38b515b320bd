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

    func writeHit(_ object: StoredObject, notModified: Bool, status: CacheStatus, age: Int, request: ClientRequest) {
        request.keepAlive = keepsAlive(request)
        let allocator = context.channel.allocator
        if notModified {
            services.counters.increment(.notModified)
            let head = ResponseHead.notModified(fields: object.fields, age: age, requestID: request.id,
                                                cacheStatus: status, keepAlive: request.keepAlive,
                                                http10KeepAlive: request.isHTTP10, allocator: allocator)
            context.write(wrapOutboundOut(head), promise: nil)
        } else if let answer = rangeAnswer(request, status: object.status, length: object.bodyLength,
                                           etag: object.etag, lastModified: object.lastModified) {
            let head = rangeHead(answer, fields: object.fields, length: object.bodyLength, age: age,
                                 cacheStatus: status, request: request)
            context.write(wrapOutboundOut(head), promise: nil)
            if case .partial(let range) = answer {
                let body = object.body
                context.write(wrapOutboundOut(body.getSlice(at: body.readerIndex + range.lowerBound,
                                                            length: range.count)!), promise: nil)
            }
        } else {
            context.write(wrapOutboundOut(object.headBlock), promise: nil)
            let trailer = ResponseHead.hitTrailer(age: age, requestID: request.id, cacheStatus: status,
                                                  keepAlive: request.keepAlive, http10KeepAlive: request.isHTTP10,
                                                  allocator: allocator)
            context.write(wrapOutboundOut(trailer), promise: nil)
            if !request.isHEAD && object.bodyLength > 0 {
                context.write(wrapOutboundOut(object.body), promise: nil)
            }
        }
        needsFlush = true
    }

    func startStreamedResponse(_ head: FetchedHead, _ request: ClientRequest) {
        request.responseStarted = true
        request.keepAlive = keepsAlive(request)
        let allocator = context.channel.allocator
        var bodyless = request.isHEAD || head.status == 204 || head.status == 304
        let buffer: ByteBuffer
        if request.flow.answersNotModified(head) {
            services.counters.increment(.notModified)
            bodyless = true
            buffer = ResponseHead.notModified(fields: head.fields, age: head.age, requestID: request.id,
                                              cacheStatus: request.cacheStatus, keepAlive: request.keepAlive,
                                              http10KeepAlive: request.isHTTP10, allocator: allocator)
        } else if let length = head.contentLength,
                  let answer = rangeAnswer(request, status: head.status, length: length, etag: head.fields["ETag"],
                                           lastModified: head.fields["Last-Modified"]) {
            buffer = rangeHead(answer, fields: head.fields, length: length, age: head.age,
                               cacheStatus: request.cacheStatus, request: request)
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
            buffer = ResponseHead.full(status: head.status, reason: head.reason, fields: head.fields, age: head.age,
                                       requestID: request.id, cacheStatus: request.cacheStatus, framing: announced,
                                       keepAlive: request.keepAlive, http10KeepAlive: request.isHTTP10,
                                       allocator: allocator)
        }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        if bodyless {
            finishResponse(request)
        }
    }

    func writeBody(_ chunk: ByteBuffer, _ request: ClientRequest) {
        guard chunk.readableBytes > 0 else { return }
        if let window = request.rangeWindow {
            let start = request.streamOffset
            request.streamOffset += chunk.readableBytes
            let piece = start...(request.streamOffset - 1)
            if piece.overlaps(window) {
                let from = max(window.lowerBound, start) - start
                let to = min(window.upperBound, piece.upperBound) - start
                context.writeAndFlush(wrapOutboundOut(chunk.getSlice(at: chunk.readerIndex + from,
                                                                     length: to - from + 1)!), promise: nil)
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
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(staticString: "\r\n")), promise: nil)
        case .contentLength, .close:
            context.writeAndFlush(wrapOutboundOut(chunk), promise: nil)
        }
    }

    /// How to answer a Range request from a complete 200 body of `length` bytes; nil: no Range
    /// handling applies (not GET, a pass (the backend answers ranges itself), or another status).
    func rangeAnswer(_ request: ClientRequest, status: Int, length: Int, etag: String?,
                             lastModified: String?) -> RangeRequest.Answer? {
        guard status == 200, request.flow.request.method == "GET", request.cacheStatus.forward != .bypass,
              request.flow.request.fields.contains("Range") else { return nil }
        let answer = RangeRequest.evaluate(request: request.flow.request.fields, length: length, etag: etag,
                                           lastModified: lastModified)
        return answer == .full ? nil : answer
    }

    /// The head of a 206 (with Content-Range) or a 416 (with the length we have).
    func rangeHead(_ answer: RangeRequest.Answer, fields: HTTPFields, length: Int, age: Int,
                           cacheStatus: CacheStatus, request: ClientRequest) -> ByteBuffer {
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
        return ResponseHead.full(status: status, reason: Synthetic.reasonPhrase(status), fields: fields, age: age,
                                 requestID: request.id, cacheStatus: cacheStatus, framing: framing,
                                 keepAlive: request.keepAlive, http10KeepAlive: request.isHTTP10,
                                 allocator: context.channel.allocator)
    }

    func endBody(_ request: ClientRequest) {
        if case .chunked = request.framing {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(staticString: "0\r\n\r\n")), promise: nil)
        }
        needsFlush = true
    }

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
