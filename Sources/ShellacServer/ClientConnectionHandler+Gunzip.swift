// ClientConnectionHandler+Gunzip: gzip bodies delivered decompressed to clients that do not take
// gzip (http_gzip_support): whether a response is, and a stored one's body decompressed a piece at
// a time as the client's socket takes it. Streamed ones are decompressed as they arrive (writeBody).
// Same event loop and state as the handler.

import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore

extension ClientConnectionHandler {

    /// http_gzip_support: whether a gzip body goes to this request decompressed (its
    /// Accept-Encoding, as the VCL left it, does not take gzip).
    func deliversGunzipped(_ request: ClientRequest) -> Bool {
        loopServices.perRequest.gzipSupport && !AcceptEncoding.takesGzip(request.flow.requestFields)
    }

    /// A stored gzip object for a client that does not take gzip: no Content-Encoding, a weak
    /// ETag, no ranges, and the body decompressed as it goes out, a piece at a time while the
    /// socket takes it (pumpGunzipped), so a client reading slowly never has a whole decompressed
    /// copy queued for it. Its length is unknown until the end: chunked (closed for HTTP/1.0). A
    /// body whose first piece does not decompress (a backend's corrupt gzip) is a 503; a later
    /// fault cuts the response short.
    func writeGunzippedHit(_ object: StoredObject, notModified: Bool, status: CacheStatus, age: Int,
                                   edits: ResponseEdits?, request: ClientRequest) {
        request.keepAlive = keepsAlive(request)
        let allocator = context.channel.allocator
        var responseStatus = object.status, reason = object.reason
        if case .replaced(let newStatus, let newReason, _, _)? = edits { (responseStatus, reason) = (newStatus, newReason) }
        let fields = BodyCoding.gunzipped(Self.fields(of: object, editedBy: edits))
        let omitted = edits?.omitted ?? []
        if notModified {
            services.counters.increment(.notModified)
            let head = ResponseHead.notModified(fields: fields, age: age, requestID: request.id, cacheStatus: status,
                                                omitting: omitted, keepAlive: request.keepAlive,
                                                http10KeepAlive: request.isHTTP10, allocator: allocator)
            context.write(wrapOutboundOut(head), promise: nil)
            needsFlush = true
            return
        }
        var body = object.body
        let coder = GzipCoder(.decompress)
        var first = ByteBuffer()
        if !request.isHEAD {
            do {
                first = try coder.process(body.readSlice(length: min(body.readableBytes, Self.gunzipPiece))!,
                                          allocator: allocator)
            } catch {
                request.keepAlive = false
                writeSynthetic(status: 503, reason: "Service Unavailable", requestID: request.id,
                               isHEAD: request.isHEAD, keepAlive: false)
                return
            }
        }
        let framing: ResponseFraming
        if request.isHTTP10 {
            framing = .close
            request.keepAlive = false
        } else {
            framing = .chunked
        }
        request.framing = request.isHEAD ? .none : framing
        let head = ResponseHead.full(status: responseStatus, reason: reason, fields: fields, age: age,
                                     requestID: request.id, cacheStatus: status, omitting: omitted, framing: framing,
                                     keepAlive: request.keepAlive, http10KeepAlive: request.isHTTP10,
                                     allocator: allocator)
        context.write(wrapOutboundOut(head), promise: nil)
        needsFlush = true
        request.bodyBytes = 0  // counted as the decompressed pieces go out
        guard !request.isHEAD else { return }
        if first.readableBytes > 0 { writePlainBody(first, request) }
        request.gunzipPump = (coder, body)
        pumpGunzipped(request)
    }

    /// Compressed bytes decompressed per step of a gunzipped hit (a few times as many go out).
    static let gunzipPiece = 16 * 1024

    /// Writes the next decompressed pieces of a gunzipped hit while the socket takes them; ends
    /// the response after the last. Called again when the socket drains.
    func pumpGunzipped(_ request: ClientRequest) {
        while current === request, !request.done, !closed, let (coder, body) = request.gunzipPump {
            guard context.channel.isWritable else {
                flushSoon()
                return
            }
            var rest = body
            let piece = rest.readSlice(length: min(rest.readableBytes, Self.gunzipPiece))!
            do {
                let plain = piece.readableBytes > 0
                    ? try coder.process(piece, allocator: context.channel.allocator)
                    : try coder.finish(allocator: context.channel.allocator)
                if plain.readableBytes > 0 { writePlainBody(plain, request) }
            } catch {
                request.gunzipPump = nil
                closeNow()  // as a truncated response: the body breaks off
                return
            }
            if piece.readableBytes > 0 {
                request.gunzipPump = (coder, rest)
            } else {
                request.gunzipPump = nil
                endBody(request)
                finishResponse(request)
            }
        }
    }
}
