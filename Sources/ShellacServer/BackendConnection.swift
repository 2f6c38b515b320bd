// BackendConnection: one keep-alive connection to a backend and the exchange running on it.
// Parses responses with the strict HTTPResponseParser, enforces the first-byte and between-bytes
// timeouts, and decides reuse: a connection is reused only when its response was read exactly
// to the end with no extra bytes and the backend allowed keep-alive. Confined to its event loop.

import NIOCore
import ShellacCore
import ShellacHTTP

enum BackendError: Error, CustomStringConvertible {
    case connectFailed(String)
    /// This machine ran out of what a connection needs (file descriptors, socket memory, local
    /// ports): nothing is said about the backend, whose health it does not count against.
    case noLocalResources(String)
    case timeout(String)
    case invalidResponse(String)
    case closed(beforeResponse: Bool)
    /// The backend answered 5xx while a stale copy could stand in for it.
    case serverError(Int)
    /// The backend is marked sick: it is not tried.
    case sick
    /// The VCL chose no backend, or a director found none healthy.
    case noBackend
    /// The backend is at its .max_connections and the wait for a slot failed.
    case busy(String)
    /// vcl_backend_fetch / vcl_backend_response returned abandon, or the VCL failed.
    case abandoned(String)
    /// The only client of a private fetch went away, or its request body broke off: nothing
    /// is said about the backend, and no fetch failure is counted.
    case clientGone
    /// return(error(STATUS, REASON)): vcl_backend_error makes the response.
    case vclError(Int, String)
    /// The VCL asked for a retry that cannot be made (max_retries reached, or a request body
    /// that was sent already): vcl_backend_error makes a 503, as for a failed fetch.
    case notRetried(String)

    /// Whether the fetch failed on the backend's side: a client leaving is counted as nothing.
    var isFetchFailure: Bool {
        if case .clientGone = self { return false }
        return true
    }

    /// Whether a failed connect says something about the backend (passive health counts it).
    var countsAgainstBackend: Bool {
        if case .noLocalResources = self { return false }
        return true
    }

    /// The status a client gets when nothing of the response reached it yet.
    var status: Int {
        switch self {
        case .invalidResponse: return 502
        case .serverError(let status): return status
        case .vclError(let status, _): return status
        default: return 503
        }
    }

    var description: String {
        switch self {
        case .connectFailed(let why): return "backend connect failed: \(why)"
        case .noLocalResources(let why): return "backend connect failed, out of local resources: \(why)"
        case .timeout(let which): return "backend \(which) timeout"
        case .invalidResponse(let why): return "invalid backend response: \(why)"
        case .closed(let early): return early ? "backend closed the connection before responding"
                                             : "backend closed the connection mid-response"
        case .serverError(let status): return "backend answered \(status)"
        case .sick: return "backend is sick"
        case .noBackend: return "no backend available"
        case .busy(let why): return "backend at max_connections: \(why)"
        case .abandoned(let why): return "fetch abandoned: \(why)"
        case .clientGone: return "fetch abandoned: the client went away"
        case .vclError(_, let reason): return reason
        case .notRetried(let why): return "not retried: \(why)"
        }
    }
}

/// Receives one exchange's events, on the connection's event loop.
protocol BackendExchangeDelegate: AnyObject {
    /// The head is handed over: its fields are the receiver's to change in place.
    func backendResponseHead(_ head: consuming HTTPResponseHead)
    func backendResponseBody(_ chunk: ByteBuffer)
    func backendResponseEnd(connectionReusable: Bool)
    /// A read was handled and the exchange goes on.
    func backendReadComplete()
    func backendExchangeFailed(_ error: BackendError, receivedAnything: Bool)
    func backendWritabilityChanged(_ writable: Bool)
}

/// Confined to its channel's event loop.
final class BackendConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Heads come without their hop-by-hop fields: nothing forwards or stores those.
    private var parser: HTTPResponseParser
    private var buffer = ByteBuffer()
    private var receivedAnything = false
    /// The response's current time limit (first byte, then between bytes) and its name; nil while
    /// no response is awaited or reading is paused. Moving it schedules nothing: one timer checks
    /// it when due and follows it while it moves later, so an exchange costs no timer of its own.
    /// When the wait the backend is in ends, and which wait it is (a literal: a String here was
    /// retained and released each time a read re-armed it).
    private var deadline: (at: NIODeadline, which: StaticString)?
    private var timer: Scheduled<Void>?
    private var timerFiresAt = NIODeadline.distantPast
    private var betweenBytesTimeout = TimeAmount.seconds(60) as TimeAmount
    private var context: ChannelHandlerContext?
    /// Strong on purpose: a cacheable fetch lives on after its client leaves; cleared at the end.
    var delegate: (any BackendExchangeDelegate)?
    /// Called once when the channel closes (the pool forgets the connection).
    var onClose: (() -> Void)?
    private let flushes: FlushBatch

    private let live: LiveObjects?

    init(limits: HTTPParserLimits = HTTPResponseParser.defaultLimits, flushes: FlushBatch = FlushBatch(), live: LiveObjects? = nil) {
        parser = HTTPResponseParser(limits: limits, omitsHopByHop: true)
        self.flushes = flushes
        self.live = live
        live?.made()
    }

    deinit {
        live?.freed()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// The context holds this handler: the reference back is dropped when the pipeline lets go
    /// of the handler, or neither (nor the channel) would ever be freed, and every closed backend
    /// connection leaked them (8 KB a request from an origin that closes after each response).
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes request bytes from this handler's place in the pipeline. Written through the
    /// channel, each buffer was wrapped by NIO's generic path (a dynamic cast of about 400
    /// instructions) and passed down from the pipeline's tail.
    func write(_ bytes: ByteBuffer, flush: Bool) {
        guard let context else { return }
        if flush {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        } else {
            context.write(wrapOutboundOut(bytes), promise: nil)
        }
    }

    func flush() {
        context?.flush()
    }

    private var paused = false

    /// Stops reading from the backend (its client cannot keep up); TCP then slows the backend down.
    /// The between-bytes timer is off while paused: the wait is ours, not the backend's.
    func pauseReading() {
        guard !paused, let context else { return }
        paused = true
        deadline = nil
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
    }

    func resumeReading() {
        guard paused, let context else { return }
        paused = false
        try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        if delegate != nil { arm(betweenBytesTimeout, "between bytes") }
        context.read()
    }

    /// Arms the parser and the first-byte timer for the response to a request just written.
    func begin(delegate: any BackendExchangeDelegate, requestWasHEAD: Bool, firstByte: TimeAmount,
               betweenBytes: TimeAmount) {
        resumeReading()
        self.delegate = delegate
        receivedAnything = false
        betweenBytesTimeout = betweenBytes
        parser.expectResponse(requestWasHEAD: requestWasHEAD)
        arm(firstByte, "first byte")
    }

    private func arm(_ amount: TimeAmount, _ which: StaticString) {
        guard let context else { return }
        let at = context.eventLoop.now + amount
        deadline = (at, which)
        // The pending check is early enough, or there is none: schedule only when needed.
        if timer == nil || at < timerFiresAt { scheduleCheck(at: at, on: context.eventLoop) }
    }

    private func scheduleCheck(at when: NIODeadline, on eventLoop: any EventLoop) {
        timer?.cancel()
        timerFiresAt = when
        // Holds the handler strongly (no weak reference: those move every retain of the handler
        // to Swift's slower side-table path); cancelled when the channel closes.
        timer = eventLoop.scheduleTask(deadline: when) {
            self.timer = nil
            guard let deadline = self.deadline else { return }
            if eventLoop.now >= deadline.at {
                self.fail(.timeout("\(deadline.which)"))
            } else {
                self.scheduleCheck(at: deadline.at, on: eventLoop)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard delegate != nil else {
            // Bytes nobody asked for: the connection cannot be trusted any more.
            context.close(promise: nil)
            return
        }
        receivedAnything = true
        arm(betweenBytesTimeout, "between bytes")
        buffer.writeBuffer(&incoming)
        flushes.around {
            parse()
            delegate?.backendReadComplete()
        }
    }

    /// Parses what has arrived. A head is handed over only after the rest of the same read has
    /// parsed, so a body error visible in it (a bad first chunk size) still fails the fetch cleanly
    /// (502) instead of reaching clients as a broken response.
    private func parse() {
        var heldHead: HTTPResponseHead?
        do {
            while delegate != nil, let event = try parser.next(from: &buffer) {
                switch consume event {
                case .head(let head):
                    keepAlive = head.keepAlive
                    heldHead = consume head
                case .body(let chunk):
                    releaseHeld(&heldHead)
                    delegate?.backendResponseBody(chunk)
                case .end:
                    releaseHeld(&heldHead)
                    // Leftover bytes mean the backend said more than it framed: never reuse.
                    finish(reusable: keepAlive && buffer.readableBytes == 0)
                }
            }
            releaseHeld(&heldHead)
        } catch {
            fail(.invalidResponse(error.description))
        }
        buffer.discardReadBytes()
    }

    private func releaseHeld(_ head: inout HTTPResponseHead?) {
        if let held = head.take() {
            delegate?.backendResponseHead(held)
        }
    }

    private var keepAlive = true

    private func finish(reusable: Bool) {
        deadline = nil
        let delegate = self.delegate
        self.delegate = nil
        delegate?.backendResponseEnd(connectionReusable: reusable)
    }

    private func fail(_ error: BackendError) {
        deadline = nil
        let delegate = self.delegate
        self.delegate = nil
        context?.close(promise: nil)
        delegate?.backendExchangeFailed(error, receivedAnything: receivedAnything)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if delegate != nil {
            do {
                if case .end? = try parser.finishAtEOF() {
                    finish(reusable: false)
                } else {
                    fail(.closed(beforeResponse: !receivedAnything))
                }
            } catch {
                fail(.closed(beforeResponse: !receivedAnything))
            }
        }
        deadline = nil
        timer?.cancel()
        timer = nil
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.backendWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A pooled connection: the channel and its handler, plus the pool's bookkeeping.
/// Confined to its channel's event loop (hence unchecked Sendable, for futures).
final class BackendConnection: @unchecked Sendable {
    let channel: any Channel
    let handler: BackendConnectionHandler
    /// While idle in the pool: when it is closed unless reused first.
    var idleDeadline = NIODeadline.distantFuture
    var isClosed = false
    /// The buffer request heads are written into, reused from one request to the next on this
    /// connection (by then the channel has written it; if not, it is copied first).
    private var headBuffer = ByteBuffer()

    init(channel: any Channel, handler: BackendConnectionHandler) {
        self.channel = channel
        self.handler = handler
    }

    /// Writes the request head and arms the response timers.
    /// `forwarding`: X-Forwarded-For and X-Varnish to write after the request's fields (see
    /// BackendVCLContext.leftOutForwarding).
    func send(_ request: HTTPRequestHead, forwarding: LeftOutForwarding?,
              delegate: any BackendExchangeDelegate, firstByte: TimeAmount, betweenBytes: TimeAmount) {
        handler.begin(delegate: delegate, requestWasHEAD: request.method == "HEAD", firstByte: firstByte,
                      betweenBytes: betweenBytes)
        headBuffer.clear()
        headBuffer.writeRequestHead(request, forwarding: forwarding)
        handler.write(headBuffer, flush: request.framing == .none || request.framing == .contentLength(0))
    }

    /// Writes what goes before the request on a new connection (a PROXY protocol header).
    func sendPreamble(_ bytes: [UInt8]) {
        handler.write(channel.allocator.buffer(bytes: bytes), flush: false)
    }

    /// Writes a piece of request body, chunk-encoded when the request is chunked.
    func sendBody(_ chunk: ByteBuffer, chunked: Bool) {
        guard chunk.readableBytes > 0 else { return }
        if chunked {
            var prefix = channel.allocator.buffer(capacity: 18)
            prefix.writeString(String(chunk.readableBytes, radix: 16) + "\r\n")
            handler.write(prefix, flush: false)
            handler.write(chunk, flush: false)
            handler.write(channel.allocator.buffer(staticString: "\r\n"), flush: true)
        } else {
            handler.write(chunk, flush: true)
        }
    }

    func endBody(chunked: Bool) {
        if chunked {
            handler.write(channel.allocator.buffer(staticString: "0\r\n\r\n"), flush: true)
        } else {
            handler.flush()
        }
    }

    var isWritable: Bool { channel.isWritable }
}
