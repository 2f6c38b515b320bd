// ClientVCLContext: the client-side subroutines' view of a request (vcl_recv … vcl_deliver,
// vcl_synth): req.*, the object found (obj.*), the response being delivered (resp.*), and what
// the subroutines produce (hash data, a synthetic body, bans, log lines). The request flow owns
// one per request; a restart keeps it, as Varnish keeps the req.

import ShellacHTTP
import ShellacStore
import ShellacVCL

/// Where the response of vcl_deliver / vcl_synth stands: untouched fields of a stored object
/// (read lazily, so a hit VCL does not touch costs nothing) or fields of their own.
public struct ResponseUnderConstruction: Sendable {
    public var status: Int
    public var reason: String
    var object: StoredObject?
    var ownFields: HTTPFields?
    /// Whether VCL changed anything (then the response head is built from `fields`).
    public private(set) var edited = false

    init(status: Int, reason: String, object: StoredObject?, fields: HTTPFields?) {
        self.status = status
        self.reason = reason
        self.object = object
        self.ownFields = fields
    }

    public var fields: HTTPFields { ownFields ?? object?.fields ?? HTTPFields() }

    mutating func edit(_ change: (inout HTTPFields) -> Void) {
        var fields = self.fields
        change(&fields)
        ownFields = fields
        edited = true
    }

    mutating func markEdited() { edited = true }
}

/// The response head vcl_deliver settled on, when it changed anything.
public struct ResponseEdits: Sendable, Equatable {
    public var status: Int
    public var reason: String
    public var fields: HTTPFields
}

public struct ClientVCLContext: VCLContext {
    public var request: HTTPRequestHead
    public let clientAddress: String
    public let serverAddress: String
    public let requestID: String
    public var now: Double
    public var restarts = 0
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
    public var response: ResponseUnderConstruction?
    /// The request vcl_pipe sees as bereq.
    public var pipeRequest: HTTPRequestHead?
    public var syntheticBody = ""
    /// Ban expressions accepted by ban(), for the I/O layer to apply.
    public var bans: [BanExpression] = []
    public var logLines: [String] = []
    let health: @Sendable (String) -> Bool
    let hostname: String

    public init(request: HTTPRequestHead, clientAddress: String, serverAddress: String, requestID: String,
                now: Double, backendHint: String?, hostname: String = "localhost",
                health: @escaping @Sendable (String) -> Bool) {
        self.request = request
        self.clientAddress = clientAddress
        self.serverAddress = serverAddress
        self.requestID = requestID
        self.now = now
        self.backendHint = backendHint
        self.hostname = hostname
        self.health = health
    }

    public func read(_ variable: VariableID) -> VCLValue {
        switch variable {
        case .clientIP, .remoteIP: return .ip(clientAddress)
        case .clientIdentity: return .string(clientIdentity ?? clientAddress)
        case .serverIP, .localIP: return .ip(serverAddress)
        case .serverHostname, .serverIdentity: return .string(hostname)
        case .now: return .time(now)
        case .reqMethod: return .string(request.method)
        case .reqURL: return .string(request.target)
        case .reqProto: return .string(request.version.text)
        case .reqBackendHint: return .backend(backendHint)
        case .reqRestarts: return .int(restarts)
        case .reqXID: return .string(requestID)
        case .reqGrace: return .duration(requestGrace ?? -1)
        case .reqTTL: return .duration(requestTTL ?? -1)
        case .reqHashAlwaysMiss: return .bool(hashAlwaysMiss)
        case .reqHashIgnoreBusy: return .bool(hashIgnoreBusy)
        case .reqCanGzip: return .bool(request.fields.listContainsCoding("gzip"))
        case .reqIsHitMiss: return .bool(isHitMiss)
        case .reqIsHitPass: return .bool(isHitPass)
        case .reqEsiLevel: return .int(0)
        case .bereqMethod: return .string(pipeRequest?.method)
        case .bereqURL: return .string(pipeRequest?.target)
        case .bereqProto: return .string(pipeRequest?.version.text)
        case .bereqBackend: return .backend(backendHint)
        case .objTTL: return .duration(object.map { $0.remainingTTL(at: now) } ?? 0)
        case .objGrace: return .duration(object?.grace ?? 0)
        case .objKeep: return .duration(object?.keep ?? 0)
        case .objAge: return .duration(object.map { $0.age(at: now) } ?? 0)
        case .objHits: return .int(object?.hits ?? 0)
        case .objStatus: return .int(object?.status ?? 0)
        case .objReason: return .string(object?.reason)
        case .objUncacheable: return .bool(object == nil)
        case .respStatus: return .int(response?.status ?? 0)
        case .respReason: return .string(response?.reason)
        case .respProto: return .string("HTTP/1.1")
        case .respBody: return .string(syntheticBody)
        default: return .string(nil)
        }
    }

    public mutating func write(_ variable: VariableID, _ value: VCLValue) {
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
        case .respStatus:
            if case .int(let status) = value {
                response?.status = status
                response?.markEdited()
            }
        case .respReason:
            response?.reason = value.string
            response?.markEdited()
        case .respBody: syntheticBody = value.string
        default: break
        }
    }

    public func header(_ scope: HeaderScope, _ name: String) -> String? {
        switch scope {
        case .req: return request.fields[name]
        case .bereq: return pipeRequest?.fields[name]
        case .obj: return object?.fields[name]
        case .resp: return response?.fields[name]
        case .beresp: return nil
        }
    }

    public func headers(_ scope: HeaderScope, _ name: String) -> [String] {
        switch scope {
        case .req: return request.fields.values(name)
        case .bereq: return pipeRequest?.fields.values(name) ?? []
        case .obj: return object?.fields.values(name) ?? []
        case .resp: return response?.fields.values(name) ?? []
        case .beresp: return []
        }
    }

    public mutating func setHeader(_ scope: HeaderScope, _ name: String, _ value: String) {
        switch scope {
        case .req: request.fields.set(name, value)
        case .bereq: pipeRequest?.fields.set(name, value)
        case .resp: response?.edit { $0.set(name, value) }
        case .obj, .beresp: break
        }
    }

    public mutating func unsetHeader(_ scope: HeaderScope, _ name: String) {
        switch scope {
        case .req: request.fields.remove(name)
        case .bereq: pipeRequest?.fields.remove(name)
        case .resp:
            if response?.fields.contains(name) == true { response?.edit { $0.remove(name) } }
        case .obj, .beresp: break
        }
    }

    public mutating func hashData(_ value: String) { hashParts.append(value) }

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

    public func isHealthy(_ backend: String) -> Bool { health(backend) }
}

extension HTTPFields {
    /// Whether Accept-Encoding lists `coding` with a non-zero q.
    func listContainsCoding(_ coding: String) -> Bool {
        guard let value = combined("Accept-Encoding") else { return false }
        return value.split(separator: ",").contains { item in
            let parts = item.split(separator: ";")
            guard let name = parts.first?.trimmingOWS(), name.equalsIgnoringASCIICase(coding) else { return false }
            return !parts.dropFirst().contains { $0.filter { $0 != " " && $0 != "\t" } == "q=0" }
        }
    }
}
