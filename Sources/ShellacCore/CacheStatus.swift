// CacheStatus: the RFC 9211 Cache-Status header value describing how a response was produced.

import NIOCore
import ShellacHTTP

/// Made only of plain values (no String): it is copied at several steps of every request, and a
/// copy is then a few words moved, no reference counted.
public struct CacheStatus: Sendable, Equatable {
    /// Why the response came about as it did, beyond `forward` (the `detail` parameter).
    public enum Detail: Sendable, CaseIterable {
        case hitForPass, hitForMiss, alwaysMiss, miss, busyOtherVariant, staleIfError, waitinglistFull

        /// The token as written: a literal copied straight into the head (a String raw value was
        /// made and measured for every response that went to a backend).
        public var token: StaticString {
            switch self {
            case .hitForPass: "hit-for-pass"
            case .hitForMiss: "hit-for-miss"
            case .alwaysMiss: "always-miss"
            case .miss: "miss"
            case .busyOtherVariant: "busy-other-variant"
            case .staleIfError: "stale-if-error"
            case .waitinglistFull: "waitinglist-full"
            }
        }
    }

    public enum Forward: Sendable, CaseIterable {
        case uriMiss, varyMiss, miss, stale, bypass, request

        public var token: StaticString {
            switch self {
            case .uriMiss: "uri-miss"
            case .varyMiss: "vary-miss"
            case .miss: "miss"
            case .stale: "stale"
            case .bypass: "bypass"
            case .request: "request"
            }
        }
    }

    public var hit = false
    public var forward: Forward?
    public var forwardStatus: Int?
    public var stored = false
    public var collapsed = false
    public var ttl: Int?
    public var detail: Detail?

    @inlinable
    public init(hit: Bool = false, forward: Forward? = nil, forwardStatus: Int? = nil, stored: Bool = false,
                collapsed: Bool = false, ttl: Int? = nil, detail: Detail? = nil) {
        self.hit = hit
        self.forward = forward
        self.forwardStatus = forwardStatus
        self.stored = stored
        self.collapsed = collapsed
        self.ttl = ttl
        self.detail = detail
    }

    public var headerValue: String {
        var buffer = ByteBuffer()
        buffer.writeHead(capacity: maxLength) { write(into: &$0) }
        return String(buffer: buffer)
    }

    /// The bytes `write(into:)` writes at most: its literals (65), the longest forward and detail
    /// tokens and two numbers. A constant: measuring the tokens cost more than the room it saved.
    public var maxLength: Int { 80 + 9 + 2 * HeadWriter.maxDecimalLength + 18 }

    /// The header value, written straight into a head being built.
    public func write(into head: inout HeadWriter) {
        head.append("Shellac")
        if hit { head.append("; hit") }
        if let forward {
            head.append("; fwd=")
            head.append(forward.token)
        }
        if let forwardStatus {
            head.append("; fwd-status=")
            head.append(decimal: forwardStatus)
        }
        if stored { head.append("; stored") }
        if collapsed { head.append("; collapsed") }
        if let ttl {
            head.append("; ttl=")
            head.append(decimal: ttl)
        }
        if let detail {
            head.append("; detail=")
            head.append(detail.token)
        }
    }
}
