// BackendVCLContext: the backend-side subroutines' view of a fetch (vcl_backend_fetch,
// vcl_backend_response, vcl_backend_error): bereq.*, and once a response exists beresp.* with
// the lifetimes the core computed from its headers. The fetch owns one; a retry keeps it.

import ShellacHTTP
import ShellacStore
import ShellacVCL

/// beresp: the response as vcl_backend_response / vcl_backend_error see and change it.
public struct BackendResponseState: Sendable {
    public var status: Int
    public var reason: String
    public var fields: HTTPFields
    public var ttl: Double
    public var grace: Double
    public var keep: Double
    public var uncacheable: Bool
    public var was304 = false
    public var age: Double = 0
    public var backendName: String?
    /// beresp.do_gzip / do_gunzip: the body is compressed / decompressed on its way in (BodyCoding).
    public var doGzip = false
    public var doGunzip = false

    public init(status: Int, reason: String, fields: HTTPFields, ttl: Double, grace: Double, keep: Double,
                uncacheable: Bool) {
        self.status = status
        self.reason = reason
        self.fields = fields
        self.ttl = ttl
        self.grace = grace
        self.keep = keep
        self.uncacheable = uncacheable
    }
}

/// A class, as ClientVCLContext is: built once per fetch and taken `inout` by the interpreter,
/// as a struct it was copied whole when made.
public final class BackendVCLContext: VCLContext, RecordsVCLEffects {
    /// The request; without X-Forwarded-For and X-Varnish while `forwardingLeftOut` (VCL always
    /// sees them: they are added when it first looks at bereq's fields).
    public var bereq: HTTPRequestHead
    /// Whether X-Forwarded-For (the client's address) and X-Varnish (the request id) are still
    /// to be written after `bereq`'s fields rather than in them (BackendRequest.prepare).
    public private(set) var forwardingLeftOut: Bool
    /// Whether Accept-Encoding: gzip (http_gzip_support) is left out with them.
    public private(set) var gzipLeftOut: Bool
    /// bereq as the fetch began, kept for std.rollback(bereq) when the VCL calls it.
    private var original: (bereq: HTTPRequestHead, forwardingLeftOut: Bool, gzipLeftOut: Bool)?
    /// vmod_cookie's cookies for this fetch.
    public var cookies = CookieJar()
    public var backend: String?
    /// The member a director picked for the fetch (nil: `backend` is a backend itself).
    public var chosenBackend: String?
    public var retries = 0
    /// A pass: nothing from this fetch is stored.
    public let uncacheable: Bool
    public let isBackgroundFetch: Bool
    public let requestID: String
    /// The timeouts VCL set (nil: none, and the backend's own or the parameter applies).
    public var connectTimeout: Double?
    public var firstByteTimeout: Double?
    public var betweenBytesTimeout: Double?
    /// What those read as while VCL has set none.
    let defaultTimeouts: BackendTimeouts
    public var response: BackendResponseState?
    public var syntheticBody = ""
    /// bereq.time: when the first attempt of the fetch began, the same across retries.
    public var fetchStarted = 0.0
    public var bans: [BanExpression] = []
    public var banError = ""
    public var logLines: [String] = []
    public var now: Double
    /// The client connection's addresses (client.ip, server.ip, remote.ip, local.ip).
    public let addresses: ClientAddresses
    let services: VCLServices

    public init(bereq: consuming HTTPRequestHead, forwardingLeftOut: Bool = false, gzipLeftOut: Bool = false,
                backend: String?, uncacheable: Bool, isBackgroundFetch: Bool, requestID: String,
                addresses: ClientAddresses, now: Double, timeouts: BackendTimeouts = .defaults,
                services: VCLServices) {
        self.bereq = bereq
        self.forwardingLeftOut = forwardingLeftOut
        self.gzipLeftOut = gzipLeftOut && forwardingLeftOut
        self.backend = backend
        self.uncacheable = uncacheable
        self.isBackgroundFetch = isBackgroundFetch
        self.requestID = requestID
        self.addresses = addresses
        self.now = now
        defaultTimeouts = timeouts
        self.services = services
    }

    public func read(_ variable: VariableID) -> VCLValue {
        switch variable {
        case .clientIP, .remoteIP, .serverIP, .localIP: return addresses.value(of: variable)!
        case .clientIdentity: return .string(addresses.client)
        case .serverHostname, .serverIdentity: return .string(services.hostname)
        case .now: return .time(now)
        case .bereqMethod: return .string(bereq.method)
        case .bereqURL: return .string(bereq.target)
        case .bereqProto: return .string(bereq.version.text)
        case .bereqBackend: return .backend(backend)
        case .bereqRetries: return .int(retries)
        case .bereqUncacheable: return .bool(uncacheable)
        case .bereqIsBgfetch: return .bool(isBackgroundFetch)
        case .bereqXID: return .string(requestID)
        case .bereqTime: return .time(fetchStarted)
        case .bereqConnectTimeout: return .duration(connectTimeout ?? defaultTimeouts.connect)
        case .bereqFirstByteTimeout: return .duration(firstByteTimeout ?? defaultTimeouts.firstByte)
        case .bereqBetweenBytesTimeout: return .duration(betweenBytesTimeout ?? defaultTimeouts.betweenBytes)
        case .berespStatus: return .int(response?.status ?? 0)
        case .berespReason: return .string(response?.reason)
        case .berespTTL: return .duration(response?.ttl ?? 0)
        case .berespGrace: return .duration(response?.grace ?? 0)
        case .berespKeep: return .duration(response?.keep ?? 0)
        case .berespUncacheable: return .bool(response?.uncacheable ?? uncacheable)
        case .berespWas304: return .bool(response?.was304 ?? false)
        case .berespAge: return .duration(response?.age ?? 0)
        case .berespBackendName: return .string(response?.backendName ?? backend)
        case .berespDoStream: return .bool(true)
        case .berespDoGzip: return .bool(response?.doGzip ?? false)
        case .berespDoGunzip: return .bool(response?.doGunzip ?? false)
        case .berespDoESI: return .bool(false)
        case .berespStorage: return .string(nil)
        default: return .string(nil)
        }
    }

    public func withString<Result>(_ variable: VariableID, _ body: (String?) -> Result) -> Result {
        switch variable {
        case .bereqMethod: return body(bereq.method)
        case .bereqURL: return body(bereq.target)
        default: return body(read(variable).optionalString)
        }
    }

    public func write(_ variable: VariableID, _ value: VCLValue) {
        switch variable {
        case .bereqMethod: bereq.method = value.string
        case .bereqURL: bereq.target = value.string
        case .bereqBackend:
            if case .backend(let name) = value { backend = name }
        // A negative timeout is none at all, as Varnish takes it.
        case .bereqConnectTimeout: connectTimeout = value.number.map { max(0, $0) }
        case .bereqFirstByteTimeout: firstByteTimeout = value.number.map { max(0, $0) }
        case .bereqBetweenBytesTimeout: betweenBytesTimeout = value.number.map { max(0, $0) }
        case .berespStatus:
            // As in Varnish, a new status brings its standard reason (VCL may set another after).
            if case .int(let status) = value {
                response?.status = status
                response?.reason = ReasonPhrase.of(status % 1000)
            }
        case .berespReason: response?.reason = value.string
        // As in Varnish: the body so far is replaced (synthetic() appends to it).
        case .berespBody: syntheticBody = value.string
        case .berespTTL: response?.ttl = value.number ?? 0
        case .berespGrace: response?.grace = value.number ?? 0
        case .berespKeep: response?.keep = value.number ?? 0
        case .berespUncacheable:
            // Once uncacheable, always (as in Varnish): a pass cannot become cacheable.
            if value.isTrue { response?.uncacheable = true }
        case .berespDoGzip: response?.doGzip = value.isTrue
        case .berespDoGunzip: response?.doGunzip = value.isTrue
        default: break
        }
    }

    public func header(_ scope: HeaderScope, _ name: String) -> String? {
        header(scope, name, nameBit: HTTPField.nameBit(name))
    }

    /// Keeps bereq as it is now for std.rollback(bereq) to return to.
    public func keepOriginal() {
        original = (bereq, forwardingLeftOut, gzipLeftOut)
    }

    public func rollback(_ scope: HeaderScope) {
        guard scope == .bereq, let original else { return }
        bereq = original.bereq
        forwardingLeftOut = original.forwardingLeftOut
        gzipLeftOut = original.gzipLeftOut
    }

    /// The X-Forwarded-For and X-Varnish values the request is to be written with, after its
    /// fields, while they are left out of them (and whether Accept-Encoding: gzip goes too).
    public var leftOutForwarding: LeftOutForwarding? {
        forwardingLeftOut ? LeftOutForwarding(forwardedFor: addresses.client, requestID: requestID,
                                              acceptGzip: gzipLeftOut) : nil
    }

    /// Whether the request asks the backend for gzip (its Accept-Encoding takes it).
    public var bereqTakesGzip: Bool {
        gzipLeftOut || AcceptEncoding.takesGzip(bereq.fields)
    }

    /// bereq's fields as VCL sees them: with X-Forwarded-For and X-Varnish.
    private func addForwarding() {
        guard forwardingLeftOut else { return }
        forwardingLeftOut = false
        BackendRequest.addForwarding(to: &bereq.fields, clientAddress: addresses.client, requestID: requestID)
        if gzipLeftOut {
            gzipLeftOut = false
            bereq.fields.set("Accept-Encoding", "gzip", nameBit: KnownName.acceptEncoding)
        }
    }

    public func header(_ scope: HeaderScope, _ name: String, nameBit: UInt64) -> String? {
        switch scope {
        case .bereq:
            addForwarding()
            return bereq.fields[name, nameBit: nameBit]
        case .beresp: return response?.fields[name, nameBit: nameBit]
        default: return nil
        }
    }

    public func headers(_ scope: HeaderScope, _ name: String) -> [String] {
        switch scope {
        case .bereq:
            addForwarding()
            return bereq.fields.values(name)
        case .beresp: return response?.fields.values(name) ?? []
        default: return []
        }
    }

    public func setHeader(_ scope: HeaderScope, _ name: String, _ value: String) {
        setHeader(scope, name, nameBit: HTTPField.nameBit(name), value)
    }

    public func setHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64, _ value: String) {
        switch scope {
        case .bereq:
            addForwarding()
            bereq.fields.set(name, value, nameBit: nameBit)
        case .beresp: response?.fields.set(name, value, nameBit: nameBit)
        default: break
        }
    }

    public func unsetHeader(_ scope: HeaderScope, _ name: String) {
        unsetHeader(scope, name, nameBit: HTTPField.nameBit(name))
    }

    public func unsetHeader(_ scope: HeaderScope, _ name: String, nameBit: UInt64) {
        switch scope {
        case .bereq:
            addForwarding()
            bereq.fields.remove(name, nameBit: nameBit)
        case .beresp: response?.fields.remove(name, nameBit: nameBit)
        default: break
        }
    }

    public func hashData(_ value: String) {}

}
