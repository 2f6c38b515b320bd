// ClientVCLContext: the client-side subroutines' view of a request (vcl_recv … vcl_deliver,
// vcl_synth): req.*, the object found (obj.*), the response being delivered (resp.*), and what
// the subroutines produce (hash data, a synthetic body, bans, log lines). The request flow owns
// one per request; a restart keeps it, as Varnish keeps the req.

import ShellacHTTP
import ShellacStore
import ShellacVCL

/// A class: a request's flow holds one for its whole life, and the interpreter takes it `inout`;
/// as a struct of a few hundred bytes it was copied whole (every reference retained and released)
/// when the flow was made.
public final class ClientVCLContext: VCLContext, RecordsVCLEffects {
    public var request: HTTPRequestHead
    /// client.ip, server.ip, remote.ip and local.ip.
    public let addresses: ClientAddresses
    public var clientAddress: String { addresses.client }
    public var serverAddress: String { addresses.server }
    public let requestID: String
    public var now: Double
    /// req.time: when the request was received, the same across restarts.
    public let receivedAt: Double
    public var restarts = 0
    /// X-Forwarded-For has the client's address (added before vcl_recv, for a VCL that names it).
    public var forwardedForExtended = false
    /// The request as it arrived, kept for std.rollback(req) when the VCL calls it.
    var receivedRequest: HTTPRequestHead?
    /// vmod_cookie's cookies for this request (its restarts included, as Varnish keeps them).
    public var cookies = CookieJar()
    public var backendHint: String?
    public var hashParts: [String] = []
    public var hashAlwaysMiss = false
    public var hashIgnoreBusy = false
    public var clientIdentity: String?
    public var requestTTL: Double?
    public var requestGrace: Double?
    public var isHitMiss = false
    public var isHitPass = false
    /// The object vcl_hit and vcl_deliver see.
    public var object: StoredObject?
    public var response = ResponseUnderConstruction()
    /// What vcl_deliver and vcl_synth read as resp.http.Age and resp.http.Cache-Status: the values
    /// Shellac writes after them unless they unset them (nil: none is written).
    private(set) var deliveryAge: Int?
    private(set) var deliveryCacheStatus: CacheStatus?
    /// Whether the response being delivered is stored (obj.uncacheable is false then).
    private(set) var deliveringStored = false
    /// The fetched response being delivered as it streams, when no stored object is: obj.ttl,
    /// obj.grace, obj.keep and obj.age are its lifetimes then, as in Varnish.
    private(set) var deliveringFetched: FetchedHead?
    /// obj.hits of a request that waited for the fetch of what it asked for (a hit, as in
    /// Varnish); nil otherwise.
    private(set) var collapsedHits: Int?
    /// The automatic fields the response's VCL unset or set itself (kept with the context, apart
    /// from the response it applies to).
    private(set) var omittedFields: AutomaticFields = []
    /// The request vcl_pipe sees as bereq.
    public var pipeRequest: HTTPRequestHead?
    /// bereq.connect_timeout as vcl_pipe set it (nil: not set, the backend's own or the parameter
    /// applies), and what it reads as until then.
    public private(set) var pipeConnectTimeout: Double?
    let defaultConnectTimeout: Double
    public var syntheticBody = ""
    /// Ban expressions accepted by ban(), for the I/O layer to apply.
    public var bans: [BanExpression] = []
    public var banError = ""
    public var logLines: [String] = []
    let services: VCLServices

    public init(request: consuming HTTPRequestHead, addresses: ClientAddresses, requestID: String,
                now: Double, backendHint: String?,
                defaultConnectTimeout: Double = BackendTimeouts.defaults.connect, services: VCLServices) {
        self.request = request
        self.addresses = addresses
        self.requestID = requestID
        self.now = now
        receivedAt = now
        self.backendHint = backendHint
        self.defaultConnectTimeout = defaultConnectTimeout
        self.services = services
    }

    /// A response is about to go through vcl_deliver or vcl_synth: what Shellac will add to it
    /// after them, and whether it is stored; nothing of an earlier response's is left out. The
    /// Cache-Status is taken, not borrowed: borrowed, a hit copied it even when no VCL ran.
    func startDelivery(age: Int?, cacheStatus: consuming CacheStatus?, stored: Bool, fetched: FetchedHead? = nil) {
        deliveryAge = age
        deliveryCacheStatus = cacheStatus
        deliveringStored = stored
        deliveringFetched = fetched
        omittedFields = []
    }

    public func rollback(_ scope: HeaderScope) {
        if scope == .req, let receivedRequest { request = receivedRequest }
    }

    /// A request that waited for another's fetch takes its response as a hit: vcl_hit sees it as
    /// obj, with `hits` as obj.hits. `nil` ends that (the request restarts or goes elsewhere).
    func startCollapsedHit(_ head: FetchedHead?, hits: Int?) {
        deliveringFetched = head
        collapsedHits = hits
    }

    /// What vcl_deliver changed in the response, with the automatic fields it left out.
    /// The response's flags and additions are read where they are kept (a call to `edits`
    /// copied the whole response first).
    var responseEdits: ResponseEdits? {
        if response.isActive && response.edited {
            if !response.replacesHead {
                return .added(response.added, removing: response.removed, omitting: omittedFields)
            }
            if let edits = response.edits { return edits.omitting(omittedFields) }
        }
        // Only automatic fields left out: the response as it is, without them.
        return omittedFields.isEmpty ? nil : .added(AddedFields(), removing: FieldLines(), omitting: omittedFields)
    }

    public func read(_ variable: VariableID) -> VCLValue {
        switch variable {
        case .clientIP, .remoteIP, .serverIP, .localIP: return addresses.value(of: variable)!
        case .clientIdentity: return .string(clientIdentity ?? clientAddress)
        case .serverHostname, .serverIdentity: return .string(services.hostname)
        case .now: return .time(now)
        case .reqMethod: return .string(request.method)
        case .reqURL: return .string(request.target)
        case .reqProto: return .string(request.version.text)
        case .reqBackendHint: return .backend(backendHint)
        case .reqRestarts: return .int(restarts)
        case .reqXID: return .string(requestID)
        case .reqTime: return .time(receivedAt)
        case .reqGrace: return .duration(requestGrace ?? -1)
        case .reqTTL: return .duration(requestTTL ?? -1)
        case .reqHashAlwaysMiss: return .bool(hashAlwaysMiss)
        case .reqHashIgnoreBusy: return .bool(hashIgnoreBusy)
        case .reqCanGzip: return .bool(AcceptEncoding.takesGzip(request.fields))
        case .reqIsHitMiss: return .bool(isHitMiss)
        case .reqIsHitPass: return .bool(isHitPass)
        case .reqEsiLevel: return .int(0)
        case .bereqMethod: return .string(pipeRequest?.method)
        case .bereqURL: return .string(pipeRequest?.target)
        case .bereqProto: return .string(pipeRequest?.version.text)
        case .bereqBackend: return .backend(backendHint)
        case .bereqConnectTimeout: return .duration(pipeConnectTimeout ?? defaultConnectTimeout)
        case .objTTL: return .duration(object.map { $0.remainingTTL(at: now) } ?? deliveringFetched?.ttl ?? 0)
        case .objGrace: return .duration(object?.grace ?? deliveringFetched?.grace ?? 0)
        case .objKeep: return .duration(object?.keep ?? deliveringFetched?.keep ?? 0)
        case .objAge: return .duration(object.map { $0.age(at: now) } ?? deliveringFetched.map { Double($0.age) } ?? 0)
        case .objHits: return .int(object?.hits ?? collapsedHits ?? 0)
        case .objStatus: return .int(object?.status ?? deliveringFetched?.status ?? 0)
        case .objReason: return .string(object?.reason ?? deliveringFetched?.reason)
        case .objUncacheable: return .bool(object == nil && !deliveringStored)
        case .respStatus: return .int(response.isActive ? response.status : 0)
        case .respReason: return .string(response.isActive ? response.reason : nil)
        case .respProto: return .string("HTTP/1.1")
        case .respBody: return .string(syntheticBody)
        // A response from a fetch is delivered as it arrives; a hit or a synthetic one is whole.
        case .respIsStreaming: return .bool(deliveringFetched != nil)
        default: return .string(nil)
        }
    }

    public func withString<Result>(_ variable: VariableID, _ body: (String?) -> Result) -> Result {
        switch variable {
        case .reqMethod: return body(request.method)
        case .reqURL: return body(request.target)
        default: return body(read(variable).optionalString)
        }
    }

    public func write(_ variable: VariableID, _ value: VCLValue) {
        switch variable {
        case .clientIdentity: clientIdentity = value.string
        case .reqMethod: request.method = value.string
        case .reqURL: request.target = value.string
        case .reqBackendHint, .bereqBackend:
            if case .backend(let name) = value { backendHint = name }
        case .reqGrace: requestGrace = value.number
        case .reqTTL: requestTTL = value.number
        case .reqHashAlwaysMiss: hashAlwaysMiss = value.isTrue
        case .reqHashIgnoreBusy: hashIgnoreBusy = value.isTrue
        case .bereqMethod: pipeRequest?.method = value.string
        case .bereqURL: pipeRequest?.target = value.string
        case .bereqConnectTimeout: pipeConnectTimeout = value.number.map { max(0, $0) }
        case .respStatus:
            // As in Varnish, a new status brings its standard reason (VCL may set another after).
            if case .int(let status) = value, response.isActive {
                response.status = status
                response.reason = ReasonPhrase.of(status % 1000)
            }
        case .respReason:
            if response.isActive { response.reason = value.string }
        case .respBody: syntheticBody = value.string
        default: break
        }
    }

    public func hasHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64) -> Bool {
        if case .req = scope { return request.fields.contains(name, nameBit: nameBit) }
        return header(scope, name, nameBit: nameBit) != nil
    }

    public func header(_ scope: HeaderScope, _ name: String) -> String? {
        header(scope, name, nameBit: HTTPField.nameBit(name))
    }

    public func header(_ scope: HeaderScope, _ name: String, nameBit: UInt64) -> String? {
        switch scope {
        case .req: return request.fields[name, nameBit: nameBit]
        case .bereq: return pipeRequest?.fields[name, nameBit: nameBit]
        case .obj: return object?.fields[name, nameBit: nameBit] ?? deliveringFetched?.fields[name, nameBit: nameBit]
        case .resp:
            guard response.isActive else { return nil }
            if let automatic = AutomaticFields.named(name, nameBit: nameBit), !omittedFields.contains(automatic) {
                return automaticValue(automatic)
            }
            return response.field(name)
        case .beresp: return nil
        }
    }

    /// The value Shellac will write for an automatic field, or nil when it writes none.
    private func automaticValue(_ field: AutomaticFields) -> String? {
        switch field {
        case .age: return deliveryAge.map(String.init)
        case .requestID: return requestID
        case .via:
            // Ours goes after the one the response came with; a synthetic response has only its own.
            let upstream = response.field("Via")
            guard deliveryAge != nil else { return upstream }
            return upstream.map { "\($0), \(AutomaticFields.viaValue)" } ?? AutomaticFields.viaValue
        default: return deliveryCacheStatus?.headerValue
        }
    }

    public func headers(_ scope: HeaderScope, _ name: String) -> [String] {
        switch scope {
        case .req: return request.fields.values(name)
        case .bereq: return pipeRequest?.fields.values(name) ?? []
        case .obj: return object?.fields.values(name) ?? deliveringFetched?.fields.values(name) ?? []
        case .resp: return response.isActive ? response.fields.values(name) : []
        case .beresp: return []
        }
    }

    public func setHeader(_ scope: HeaderScope, _ name: String, _ value: String) {
        setHeader(scope, name, nameBit: HTTPField.nameBit(name), value)
    }

    public func setHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64, _ value: String) {
        switch scope {
        case .req: request.fields.set(name, value, nameBit: nameBit)
        case .bereq: pipeRequest?.fields.set(name, value, nameBit: nameBit)
        case .resp: setResponseField(name, nameBit: nameBit, value)
        case .obj, .beresp: break
        }
    }

    public func setHeader(_ scope: HeaderScope, _ field: ConstantField) {
        guard case .resp = scope else { return setHeader(scope, field.name, nameBit: field.nameBit, field.value) }
        setResponseField(field.name, nameBit: field.nameBit, field.value, line: field.line)
    }

    /// resp.http.NAME set: an automatic field of that name is then the VCL's, not Shellac's.
    private func setResponseField(_ name: String, nameBit: UInt64, _ value: String, line: String? = nil) {
        if let automatic = AutomaticFields.named(name, nameBit: nameBit) { omittedFields.insert(automatic) }
        if response.isActive { response.set(name, nameBit: nameBit, value, line: line) }
    }

    public func unsetHeader(_ scope: HeaderScope, _ name: String) {
        unsetHeader(scope, name, nameBit: HTTPField.nameBit(name))
    }

    public func unsetHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64) {
        switch scope {
        case .req: request.fields.remove(name, nameBit: nameBit)
        case .bereq: pipeRequest?.fields.remove(name, nameBit: nameBit)
        case .resp:
            if let automatic = AutomaticFields.named(name, nameBit: nameBit) { omittedFields.insert(automatic) }
            if response.isActive { response.unset(name, nameBit: nameBit) }
        case .obj, .beresp: break
        }
    }

    public func hashData(_ value: String) { hashParts.append(value) }

}

/// What both contexts do alike: collect a synthetic body, bans and log lines for the I/O layer,
/// and ask the server about backend health.
protocol RecordsVCLEffects: VCLContext {
    var syntheticBody: String { get set }
    var bans: [BanExpression] { get set }
    var logLines: [String] { get set }
    var services: VCLServices { get }
}

/// What a VCL context asks of the server while a subroutine runs: backend health, purging by
/// tag (which answers at once with how many objects it took), and the machine's name
/// (server.hostname). One shared object: every request's contexts hold it, and as a struct each
/// copy retained and released both closures.
public final class VCLServices: Sendable {
    public let isHealthy: @Sendable (String) -> Bool
    public let purgeTags: @Sendable ([String], Bool) -> Int
    public let hostname: String

    public init(isHealthy: @escaping @Sendable (String) -> Bool,
                purgeTags: @escaping @Sendable ([String], Bool) -> Int, hostname: String) {
        self.isHealthy = isHealthy
        self.purgeTags = purgeTags
        self.hostname = hostname
    }

    /// Every backend healthy, nothing stored, named localhost (tests of the pure parts).
    public static let none = VCLServices(isHealthy: { _ in true }, purgeTags: { _, _ in 0 }, hostname: "localhost")
}

extension RecordsVCLEffects {
    public mutating func synthetic(_ body: String) { syntheticBody += body }

    public mutating func ban(_ expression: String) -> String? {
        do {
            bans.append(try BanExpression.parse(expression))
            return nil
        } catch {
            return error.message
        }
    }

    public mutating func log(_ message: String) { logLines.append(message) }

    public func isHealthy(_ backend: String) -> Bool { services.isHealthy(backend) }

    public mutating func purgeTags(_ tags: [String], soft: Bool) -> Int { services.purgeTags(tags, soft) }
}
