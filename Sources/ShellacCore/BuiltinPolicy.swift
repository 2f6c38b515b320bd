// BuiltinPolicy: Varnish's builtin VCL expressed in Swift — which requests are looked up in the
// cache, what the key is, and whether (and for how long) a backend response is stored. The VCL
// compiler will take over these decisions; until then this is the behaviour users get.

import ShellacHTTP
import ShellacStore

public enum RecvDecision: Sendable, Equatable {
    case hash
    case pass
    case synth(status: Int, reason: String)
}

/// How a fetched response is to be stored.
public struct StoragePlan: Sendable, Equatable {
    public var cacheable: Bool
    public var ttl: Double
    public var grace: Double
    public var keep: Double
    public var initialAge: Double
    public var varyNames: [String]
    /// Cache-Control stale-if-error, seconds (0 when absent).
    public var staleIfError: Double = 0
    /// Lifetime of the hit-for-miss marker when not cacheable.
    public var hitForMissTTL: Double
    /// Why the response is not stored (for logs and Cache-Status detail).
    public var uncacheableReason: String?
}

public enum BuiltinPolicy {
    static let knownMethods: Set<String> = ["GET", "HEAD", "PUT", "POST", "TRACE", "OPTIONS", "DELETE", "PATCH"]

    /// vcl_recv: lower-cases Host, normalises Accept-Encoding, and decides hash / pass / synth.
    public static func recv(_ head: inout HTTPRequestHead) -> RecvDecision {
        normaliseAbsoluteForm(&head)
        // Rewritten only when needed: most Host headers are already lower case (one allocation less per hit).
        if let host = head.fields["Host"], host.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) {
            head.fields.set("Host", host.asciiLowercased())
        }
        guard knownMethods.contains(head.method) else {
            return .synth(status: 501, reason: "Not Implemented")
        }
        guard head.method == "GET" || head.method == "HEAD" else { return .pass }
        if head.fields.contains("Authorization") || head.fields.contains("Cookie") { return .pass }
        if head.hasBody { return .pass }
        normaliseAcceptEncoding(&head.fields)
        return .hash
    }

    /// RFC 9112 §3.2.2: for `GET http://host/path`, the target's authority replaces Host and the
    /// request continues in origin form, so it is keyed and forwarded like `GET /path`.
    static func normaliseAbsoluteForm(_ head: inout HTTPRequestHead) {
        for scheme in ["http://", "https://"] where head.target.hasPrefixIgnoringASCIICase(scheme) {
            let rest = head.target.dropFirst(scheme.count)
            let pathStart = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            let authority = rest[..<pathStart]
            guard !authority.isEmpty, !authority.contains("@") else { return }
            var path = String(rest[pathStart...])
            if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
            head.fields.set("Host", String(authority))
            head.target = path
            return
        }
    }

    /// vcl_hash: the URL, then the Host or, without one, the server address.
    public static func cacheKey(_ head: HTTPRequestHead, serverAddress: String) -> CacheKey {
        CacheKey(parts: [head.target, head.fields["Host"] ?? serverAddress])
    }

    /// Browsers send many Accept-Encoding spellings; keep "gzip" or nothing so Vary does not
    /// fragment the cache (as Varnish does with http_gzip_support).
    static func normaliseAcceptEncoding(_ fields: inout HTTPFields) {
        guard let value = fields.combined("Accept-Encoding"), value != "gzip" else { return }
        let acceptsGzip = value.split(separator: ",").contains { item in
            let parts = item.split(separator: ";")
            guard let coding = parts.first?.trimmingOWS(), coding.equalsIgnoringASCIICase("gzip") else { return false }
            return !parts.dropFirst().contains { $0.trimmingOWS().replacingSpaces() == "q=0" }
        }
        if acceptsGzip { fields.set("Accept-Encoding", "gzip") } else { fields.remove("Accept-Encoding") }
    }

    /// Core freshness rules plus vcl_backend_response: decides whether and how long to store.
    public static func backendResponse(status: Int, fields: HTTPFields, requestTime: Double, responseTime: Double,
                                       parameters: Parameters) -> StoragePlan {
        let cc = CacheControl(fields)
        let freshness = Freshness.compute(fields: fields, cacheControl: cc, requestTime: requestTime,
                                          responseTime: responseTime)
        var ttl: Double
        if !CacheableStatus.isCacheable(status) {
            ttl = -1
        } else if let explicit = freshness.ttl {
            ttl = explicit
        } else if CacheableStatus.isHeuristicallyCacheable(status) || cc.isPublic {
            ttl = parameters["default_ttl"]
        } else {
            ttl = 0
        }
        var grace = cc.staleWhileRevalidate.map(Double.init) ?? parameters["default_grace"]
        var staleIfError = cc.staleIfError.map(Double.init) ?? 0
        // must-revalidate, proxy-revalidate and s-maxage (§5.2.2.10) forbid serving it stale.
        if cc.mustRevalidate || cc.proxyRevalidate || cc.sMaxAge != nil {
            grace = 0
            staleIfError = 0
        }
        var keep = parameters["default_keep"]
        let surrogate = fields.combined("Surrogate-Control")
        let hasValidators = fields.contains("ETag") || fields.contains("Last-Modified")
        // no-cache (§5.2.2.4): store, but revalidate before every reuse — possible only with validators.
        let revalidateAlways = cc.noCache && !cc.noStore && !cc.isPrivate && surrogate == nil && hasValidators
            && CacheableStatus.isCacheable(status)
        if revalidateAlways {
            keep = max(keep, ttl, parameters["uncacheable_ttl"])
            ttl = 0
            grace = 0
            staleIfError = 0
        }
        var plan = StoragePlan(cacheable: true, ttl: ttl, grace: grace, keep: keep,
                               initialAge: freshness.initialAge, varyNames: [], staleIfError: staleIfError,
                               hitForMissTTL: parameters["uncacheable_ttl"], uncacheableReason: nil)
        let varyNames = Vary.names(fields)
        if revalidateAlways {
            if fields.contains("Set-Cookie") { plan.uncacheableReason = "set-cookie" }
            if varyNames == nil { plan.uncacheableReason = "vary-star" }
        } else if ttl <= 0 {
            plan.uncacheableReason = CacheableStatus.isCacheable(status) ? "ttl" : "status"
        } else if fields.contains("Set-Cookie") {
            plan.uncacheableReason = "set-cookie"
        } else if let surrogate, surrogate.lowercased().contains("no-store") {
            plan.uncacheableReason = "surrogate-no-store"
        } else if surrogate == nil && (cc.noCache || cc.noStore || cc.isPrivate) {
            plan.uncacheableReason = cc.noStore ? "no-store" : cc.isPrivate ? "private" : "no-cache"
        } else if varyNames == nil {
            plan.uncacheableReason = "vary-star"
        }
        if plan.uncacheableReason != nil {
            plan.cacheable = false
        } else {
            plan.varyNames = varyNames ?? []
        }
        return plan
    }
}

extension Substring {
    fileprivate func replacingSpaces() -> String { String(filter { $0 != " " && $0 != "\t" }) }
}
