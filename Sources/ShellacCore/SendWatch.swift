// SendWatch: whether a client that is behind on a response is still taking it. A connection
// watches from the moment its response bytes stop fitting in the socket (or, idle otherwise,
// it still holds unsent bytes) and is checked every idle_send_timeout: each check wants some
// progress since the last one (the buffer drained to its low mark, or holds fewer bytes), and
// the whole wait may not outlast send_timeout. A client that stops reading would otherwise keep
// the connection, the response's pending bytes and, for a pass, a backend connection, for ever.
// Varnish's idle_send_timeout and send_timeout, with their defaults. Pure; times in seconds.

public struct SendWatch: Sendable, Equatable {
    public struct Limits: Sendable, Equatable {
        /// The longest a client may go without taking any of the response.
        public var idle: Double
        /// The longest a connection may stay behind, from the watch's start.
        public var total: Double

        public init(idle: Double, total: Double) {
            self.idle = idle
            self.total = total
        }
    }

    public enum Verdict: Sendable, Equatable {
        /// Still taking the response: check again then.
        case checkAgain(at: Double)
        /// Nothing left unsent: the watch ends.
        case caughtUp
        /// Nothing taken for `idle`: close the connection.
        case stalled
        /// Behind for longer than `total`: close the connection.
        case tooLong
    }

    public let startedAt: Double
    /// Bytes unsent when the watch began, then at the last check.
    private var lastUnsent: Int
    private var drainedSinceCheck = false

    /// The first check is due at `firstCheck(limits)`.
    public init(now: Double, unsent: Int) {
        startedAt = now
        lastUnsent = unsent
    }

    public func firstCheck(_ limits: Limits) -> Double {
        startedAt + min(limits.idle, limits.total)
    }

    /// The connection's buffer drained to its low mark (the channel became writable again).
    public mutating func drained() {
        drainedSinceCheck = true
    }

    public mutating func check(now: Double, unsent: Int, limits: Limits) -> Verdict {
        if unsent == 0 { return .caughtUp }
        if now - startedAt >= limits.total { return .tooLong }
        let tookSome = drainedSinceCheck || unsent < lastUnsent
        guard tookSome else { return .stalled }
        drainedSinceCheck = false
        lastUnsent = unsent
        return .checkAgain(at: min(now + limits.idle, startedAt + limits.total))
    }
}
