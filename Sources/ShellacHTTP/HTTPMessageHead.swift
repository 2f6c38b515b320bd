// Parsed message heads: the request line or status line plus fields, and the body framing
// the parser derived from them (RFC 9112 §6). Plain values; the parser builds them.

public struct HTTPVersion: Sendable, Equatable {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var text: String { "HTTP/\(major).\(minor)" }
}

/// How a message body is delimited on the wire.
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(Int)
    case chunked
    /// A response body that ends when the connection closes (RFC 9112 §6.3 rule 8).
    case untilClose
}

public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    public var target: String
    public var version: HTTPVersion
    public var fields: HTTPFields
    public var framing: BodyFraming

    public init(method: String, target: String, version: HTTPVersion, fields: HTTPFields,
                framing: BodyFraming = .none) {
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields
        self.framing = framing
    }

    /// Whether the client wants the connection kept open after this exchange (RFC 9112 §9.3).
    public var keepAlive: Bool {
        if fields.listContains("Connection", nameBit: KnownName.connection, token: "close") { return false }
        if version == .http1_0 { return fields.listContains("Connection", nameBit: KnownName.connection, token: "keep-alive") }
        return true
    }

    public var hasBody: Bool {
        switch framing {
        case .none, .contentLength(0): return false
        default: return true
        }
    }
}

public struct HTTPResponseHead: Sendable, Equatable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    public var fields: HTTPFields
    public var framing: BodyFraming
    /// What a Connection field the parser left out of `fields` said (see HTTPResponseParser's
    /// `omitsHopByHop`); empty otherwise.
    public var connectionOptions: ConnectionOptions = []

    public init(version: HTTPVersion = .http1_1, status: Int, reason: String, fields: HTTPFields,
                framing: BodyFraming = .none) {
        self.version = version
        self.status = status
        self.reason = reason
        self.fields = fields
        self.framing = framing
    }

    /// Whether the server lets the connection be reused after this response.
    public var keepAlive: Bool {
        if framing == .untilClose || connectionOptions.contains(.close) { return false }
        if fields.listContains("Connection", nameBit: KnownName.connection, token: "close") { return false }
        if version == .http1_0 {
            return connectionOptions.contains(.keepAlive)
                || fields.listContains("Connection", nameBit: KnownName.connection, token: "keep-alive")
        }
        return true
    }
}
