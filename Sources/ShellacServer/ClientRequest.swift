// ClientRequest: the state of one request while a client connection answers it: its flow,
// the fetch it started or waits on, and how its response is framed. Owned by the connection
// handler and confined to its event loop.

import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore

/// Confined to its connection's event loop (hence unchecked Sendable, for timers).
final class ClientRequest: @unchecked Sendable {
    let id: String
    var flow: RequestFlow
    /// The VCL this request started with; it keeps it to the end, across reloads.
    let vcl: ActiveVCL
    let isHEAD: Bool
    let isHTTP10: Bool
    var keepAlive: Bool
    let expectsContinue: Bool
    /// The whole request body has been read (true at once for bodiless requests).
    var bodyComplete: Bool
    /// The fetch this request started (pass, miss, hit-for-miss); nil when waiting or hit.
    var fetch: BackendFetch?
    /// The fetch this request listens to, with its subscription id; no id for the fetch it
    /// started itself, which hands it events directly (and no busy object when that fetch is
    /// private).
    var subscription: (busy: BusyFetch?, id: Int?)?
    var waiting = false
    /// Listening to another variant's fetch only to learn when it ends.
    var awaitingCompletion = false
    var waitTimer: Scheduled<Void>?
    var cacheStatus = CacheStatus()
    var responseStarted = false
    var framing = ResponseFraming.none
    /// For a 206 cut from a streamed body: the bytes to send, and how far the stream has come.
    var rangeWindow: ClosedRange<Int>?
    var streamOffset = 0
    /// Decompresses a streamed gzip body for a client that does not take gzip (http_gzip_support).
    var gunzip: GzipCoder?
    /// A stored gzip body going out decompressed, a piece at a time while the socket takes it
    /// (ClientConnectionHandler.pumpGunzipped).
    var gunzipPump: (coder: GzipCoder, body: ByteBuffer)?
    /// Position of the next body piece event, and of the next piece the client still needs; they
    /// differ while the client lags (its socket full) and catches up by pulling from the fetch.
    var pieceEvents = 0
    var nextPiece = 0
    var lagging = false
    var streamEnded = false
    var done = false
    // For the access log: when the request arrived, when its first response byte went out,
    // what it was answered with, and how. The times are read only when there is a log to
    // write them to (two readings of the clock a request otherwise spent for nothing): nil
    // arrival, an untimed request.
    let arrived: NIODeadline?
    var firstByte: NIODeadline?
    var loggedStatus = 0
    var bodyBytes = 0
    var handling = "miss"

    func responding(status: Int, handling: String) {
        loggedStatus = status
        self.handling = handling
        if arrived != nil && firstByte == nil { firstByte = .now() }
    }

    /// What the connection needs to know of the request head, read before the head moves into
    /// the flow.
    struct Shape {
        var isHEAD: Bool
        var isHTTP10: Bool
        var hasBody: Bool

        init(_ head: borrowing HTTPRequestHead) {
            isHEAD = head.method == "HEAD"
            isHTTP10 = head.version == .http1_0
            hasBody = head.hasBody
        }
    }

    /// `timed`: whether the access log wants the request's times.
    init(id: String, shape: Shape, flow: consuming RequestFlow, vcl: ActiveVCL, keepAlive: Bool,
         expectsContinue: Bool, timed: Bool) {
        arrived = timed ? .now() : nil
        self.id = id
        self.vcl = vcl
        self.isHEAD = shape.isHEAD
        self.isHTTP10 = shape.isHTTP10
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
        self.bodyComplete = !shape.hasBody
        self.flow = flow
    }
}
