// VCLContext: what a running subroutine sees of the world. The request flow (client side) and the
// backend fetch (backend side) each implement it over their own state; the interpreter reads and
// writes variables and headers only through it, so the language knows nothing of sockets.

/// Every VCL variable that is not a header, by its VCL name.
public enum VariableID: String, Sendable, CaseIterable {
    case clientIP = "client.ip", clientIdentity = "client.identity"
    case serverIP = "server.ip", serverHostname = "server.hostname", serverIdentity = "server.identity"
    case remoteIP = "remote.ip", localIP = "local.ip", now = "now"

    case reqMethod = "req.method", reqURL = "req.url", reqProto = "req.proto"
    case reqBackendHint = "req.backend_hint", reqRestarts = "req.restarts", reqXID = "req.xid"
    case reqGrace = "req.grace", reqTTL = "req.ttl", reqHashAlwaysMiss = "req.hash_always_miss"
    case reqHashIgnoreBusy = "req.hash_ignore_busy", reqCanGzip = "req.can_gzip"
    case reqIsHitMiss = "req.is_hitmiss", reqIsHitPass = "req.is_hitpass", reqEsiLevel = "req.esi_level"
    case reqTime = "req.time"

    case bereqMethod = "bereq.method", bereqURL = "bereq.url", bereqProto = "bereq.proto"
    case bereqBackend = "bereq.backend", bereqRetries = "bereq.retries", bereqUncacheable = "bereq.uncacheable"
    case bereqIsBgfetch = "bereq.is_bgfetch", bereqXID = "bereq.xid", bereqTime = "bereq.time"
    case bereqConnectTimeout = "bereq.connect_timeout", bereqFirstByteTimeout = "bereq.first_byte_timeout"
    case bereqBetweenBytesTimeout = "bereq.between_bytes_timeout"

    case berespStatus = "beresp.status", berespReason = "beresp.reason", berespTTL = "beresp.ttl"
    case berespGrace = "beresp.grace", berespKeep = "beresp.keep", berespUncacheable = "beresp.uncacheable"
    case berespDoStream = "beresp.do_stream", berespDoGzip = "beresp.do_gzip", berespDoGunzip = "beresp.do_gunzip"
    case berespDoESI = "beresp.do_esi", berespWas304 = "beresp.was_304", berespAge = "beresp.age"
    case berespBackendName = "beresp.backend.name", berespStorage = "beresp.storage", berespBody = "beresp.body"

    case objTTL = "obj.ttl", objGrace = "obj.grace", objKeep = "obj.keep", objAge = "obj.age"
    case objHits = "obj.hits", objStatus = "obj.status", objReason = "obj.reason"
    case objUncacheable = "obj.uncacheable"

    case respStatus = "resp.status", respReason = "resp.reason", respBody = "resp.body", respProto = "resp.proto"
    case respIsStreaming = "resp.is_streaming"
}

/// Whose header fields `X.http.NAME` names.
public enum HeaderScope: String, Sendable {
    case req, bereq, beresp, obj, resp
}

/// Reads are `mutating` too, though none changes anything: the interpreter holds its context
/// `inout`, and a non-mutating call on it made the compiler copy the whole context (a few hundred
/// bytes, every reference in it retained and released) for each variable or header read.
public protocol VCLContext {
    mutating func read(_ variable: VariableID) -> VCLValue
    /// Calls `body` with a STRING variable's text (nil: not set) where the context keeps it,
    /// rather than making a value of it: conditions such as `req.method == "PURGE"` run on
    /// every request.
    mutating func withString<Result>(_ variable: VariableID, _ body: (String?) -> Result) -> Result
    mutating func write(_ variable: VariableID, _ value: VCLValue)
    /// The first field `name` of `scope` (case-insensitive), or nil.
    mutating func header(_ scope: HeaderScope, _ name: String) -> String?
    /// The same, given the name's `HTTPField.nameBit` (compiled VCL keeps one per name).
    mutating func header(_ scope: HeaderScope, _ name: String, nameBit: UInt64) -> String?
    /// Whether `scope` has a field `name` (a header used as a condition), given its name bit.
    mutating func hasHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64) -> Bool
    /// Replaces every `name` field with one holding `value`.
    mutating func setHeader(_ scope: HeaderScope, _ name: String, _ value: String)
    mutating func unsetHeader(_ scope: HeaderScope, _ name: String)
    /// setHeader and unsetHeader given the name's `HTTPField.nameBit` (compiled VCL keeps one).
    mutating func setHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64, _ value: String)
    mutating func unsetHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64)
    /// setHeader for a value known when the VCL was compiled (its line is made already).
    mutating func setHeader(_ scope: HeaderScope, _ field: ConstantField)
    /// Every field `name` of `scope` (std.collect).
    mutating func headers(_ scope: HeaderScope, _ name: String) -> [String]
    mutating func hashData(_ value: String)
    /// synthetic() and `set resp.body`: the body of a synthetic response.
    mutating func synthetic(_ body: String)
    /// ban(): returns nil when the expression was accepted, else why not.
    mutating func ban(_ expression: String) -> String?
    /// Why the task's last ban() was refused ("" when it was accepted or none was made): what
    /// std.ban_error() returns, in any later subroutine of the same request or fetch.
    var banError: String { get set }
    mutating func log(_ message: String)
    /// Health of a backend by name (std.healthy, directors).
    func isHealthy(_ backend: String) -> Bool
    /// Purges (or soft-purges) the objects tagged with any of `tags`; returns how many.
    mutating func purgeTags(_ tags: [String], soft: Bool) -> Int
    /// std.rollback: `req` (or `bereq`) as it was when the request arrived (the fetch began).
    mutating func rollback(_ scope: HeaderScope)
    /// vmod_cookie's cookies for the request or fetch (kept across its subroutines).
    var cookies: CookieJar { get set }
}

extension VCLContext {
    public mutating func withString<Result>(_ variable: VariableID, _ body: (String?) -> Result) -> Result {
        body(read(variable).optionalString)
    }

    public mutating func header(_ scope: HeaderScope, _ name: String, nameBit: UInt64) -> String? {
        header(scope, name)
    }

    public mutating func hasHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64) -> Bool {
        header(scope, name, nameBit: nameBit) != nil
    }

    public mutating func setHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64, _ value: String) {
        setHeader(scope, name, value)
    }

    public mutating func unsetHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64) {
        unsetHeader(scope, name)
    }

    public mutating func setHeader(_ scope: HeaderScope, _ field: ConstantField) {
        setHeader(scope, field.name, nameBit: field.nameBit, field.value)
    }

    /// Contexts with nothing to roll back (vcl_init) ignore it.
    public mutating func rollback(_ scope: HeaderScope) {}

    /// Contexts that keep no cookies (vcl_init) read an empty jar.
    public var cookies: CookieJar {
        get { CookieJar() }
        set {}
    }
}
