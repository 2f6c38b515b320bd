// CorePolicy: what Varnish does around the VCL rather than in it: request normalisation before
// vcl_recv (absolute-form targets, Host case, Accept-Encoding), the builtin hash of a URI (for
// invalidation), and the TTL, grace and keep a backend response gets from its headers (RFC 9111)
// before vcl_backend_response sees them as beresp.ttl/grace/keep.

import ShellacHTTP
import ShellacStore

/// The lifetimes a fetched response starts with, from its headers and the parameters.
public struct StoragePlan: Sendable, Equatable {
    /// Negative for statuses that are never cached.
    public var ttl: Double
    public var grace: Double
    public var keep: Double
    public var initialAge: Double
    /// Cache-Control stale-if-error, seconds (0 when absent).
    public var staleIfError: Double = 0

    public init(ttl: Double, grace: Double, keep: Double, initialAge: Double, staleIfError: Double) {
        self.ttl = ttl
        self.grace = grace
        self.keep = keep
        self.initialAge = initialAge
        self.staleIfError = staleIfError
    }
}

public enum CorePolicy {
    /// Before vcl_recv: an absolute-form target becomes origin form with its authority as Host,
    /// and Host is lower-cased.
    public static func prepare(_ head: inout HTTPRequestHead) {
        normaliseAbsoluteForm(&head)
        // Rewritten only when needed: most Host headers are already lower case (one allocation less per hit).
        if var host = head.fields["Host", nameBit: KnownName.host],
           host.withUTF8({ $0.contains { $0 >= 0x41 && $0 <= 0x5A } }) {
            head.fields.set("Host", host.asciiLowercased(), nameBit: KnownName.host)
        }
    }

    /// RFC 9112 §3.2.2: for `GET http://host/path`, the target's authority replaces Host and the
    /// request continues in origin form, so it is keyed and forwarded like `GET /path`.
    static func normaliseAbsoluteForm(_ head: inout HTTPRequestHead) {
        if head.target.utf8.first == UInt8(ascii: "/") { return }  // origin form, the usual case
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

    /// The builtin vcl_hash of a request: the URL, then the Host or, without one, the server address.
    public static func cacheKey(_ head: HTTPRequestHead, serverAddress: String) -> CacheKey {
        CacheKey(url: head.target, host: builtinHashHost(head, serverAddress: serverAddress))
    }

    /// What the builtin vcl_hash hashes after the URL: the Host or, without one, the server address.
    static func builtinHashHost(_ head: HTTPRequestHead, serverAddress: String) -> String {
        head.fields["Host", nameBit: KnownName.host] ?? serverAddress
    }

    /// Browsers send many Accept-Encoding spellings; keep "gzip" or nothing so Vary does not
    /// fragment the cache (as Varnish does with http_gzip_support). With a connection's `memo`, a
    /// request whose field list is the one normalised last (the parser shares the list of a head
    /// that repeats the connection's last one, as a browser's do) takes that result: changing the
    /// shared list copied it, about 1,300 instructions and an allocation a browser's hit.
    public static func normaliseAcceptEncoding(_ fields: inout HTTPFields, memo: NormalisedFields? = nil) {
        guard fields.nameBits & KnownName.acceptEncoding != 0 else { return }
        if let memo, memo.raw.sharesStorage(with: fields) {
            fields = memo.normalised
            return
        }
        guard let value = fields.combined("Accept-Encoding", nameBit: KnownName.acceptEncoding), value != "gzip" else {
            return
        }
        let raw = fields
        if AcceptEncoding.acceptsGzip(value) { fields.set("Accept-Encoding", "gzip") } else { fields.remove("Accept-Encoding") }
        memo?.remember(raw: raw, normalised: fields)
    }

    /// The last field list a connection's Accept-Encoding normalisation changed, and what it became.
    /// One per client connection, used on its event loop only.
    public final class NormalisedFields: @unchecked Sendable {
        fileprivate var raw = HTTPFields()
        fileprivate var normalised = HTTPFields()

        public init() {}

        fileprivate func remember(raw: HTTPFields, normalised: HTTPFields) {
            self.raw = raw
            self.normalised = normalised
        }
    }

    /// RFC 9111 freshness for a shared cache, as beresp.ttl/grace/keep start out: the explicit
    /// lifetime, else default_ttl for heuristically cacheable statuses; grace from
    /// stale-while-revalidate or default_grace; none after must-revalidate, proxy-revalidate or
    /// s-maxage. `no-cache` means ttl 0: with a validator the response is kept to be revalidated
    /// on every use, without one it is not stored.
    public static func lifetimes(status: Int, fields: HTTPFields, requestTime: Double, responseTime: Double,
                                 defaults: Parameters.PerRequest) -> StoragePlan {
        let cc = CacheControl(fields)
        let freshness = Freshness.compute(fields: fields, cacheControl: cc, requestTime: requestTime,
                                          responseTime: responseTime)
        var ttl: Double
        let statusCacheable = CacheableStatus.isCacheable(status)
        if !statusCacheable {
            ttl = 0  // as Varnish's beresp.ttl reads for a status it never caches (a 500)
        } else if let explicit = freshness.ttl {
            ttl = explicit
        } else if CacheableStatus.isHeuristicallyCacheable(status) || cc.isPublic {
            ttl = defaults.defaultTTL
        } else {
            ttl = 0
        }
        var grace = cc.staleWhileRevalidate.map(Double.init) ?? defaults.defaultGrace
        var staleIfError = cc.staleIfError.map(Double.init) ?? 0
        // must-revalidate, proxy-revalidate and s-maxage (§5.2.2.10) forbid serving it stale.
        if cc.mustRevalidate || cc.proxyRevalidate || cc.sMaxAge != nil {
            grace = 0
            staleIfError = 0
        }
        var keep = defaults.defaultKeep
        if cc.noCache && fields["Surrogate-Control"] == nil && statusCacheable && ttl >= 0 {
            // §5.2.2.4: store, but revalidate before every reuse — possible only with validators.
            let hasValidators = fields.contains("ETag") || fields.contains("Last-Modified")
            keep = hasValidators ? max(keep, ttl, defaults.uncacheableTTL) : 0
            ttl = 0
            grace = 0
            staleIfError = 0
        }
        return StoragePlan(ttl: ttl, grace: grace, keep: keep, initialAge: freshness.initialAge,
                           staleIfError: staleIfError)
    }
}
