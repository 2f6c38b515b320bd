// CacheStatus: the RFC 9211 Cache-Status header value describing how a response was produced.

public struct CacheStatus: Sendable, Equatable {
    public enum Forward: String, Sendable {
        case uriMiss = "uri-miss"
        case varyMiss = "vary-miss"
        case miss
        case stale
        case bypass
        case request
    }

    public var hit = false
    public var forward: Forward?
    public var forwardStatus: Int?
    public var stored = false
    public var collapsed = false
    public var ttl: Int?
    public var detail: String?

    public init(hit: Bool = false, forward: Forward? = nil, forwardStatus: Int? = nil, stored: Bool = false,
                collapsed: Bool = false, ttl: Int? = nil, detail: String? = nil) {
        self.hit = hit
        self.forward = forward
        self.forwardStatus = forwardStatus
        self.stored = stored
        self.collapsed = collapsed
        self.ttl = ttl
        self.detail = detail
    }

    public var headerValue: String {
        var value = "Shellac"
        if hit { value += "; hit" }
        if let forward { value += "; fwd=\(forward.rawValue)" }
        if let forwardStatus { value += "; fwd-status=\(forwardStatus)" }
        if stored { value += "; stored" }
        if collapsed { value += "; collapsed" }
        if let ttl { value += "; ttl=\(ttl)" }
        if let detail { value += "; detail=\(detail)" }
        return value
    }
}
