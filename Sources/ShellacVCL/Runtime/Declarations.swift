// Declarations: backends and probes as a loaded VCL declares them, in plain values the server
// turns into connection pools and health probes. Built from the syntax tree's properties, with a
// diagnostic for every property that is unknown or of the wrong kind.

public struct ProbeDefinition: Sendable, Equatable {
    public var name: String
    public var url = "/"
    /// `.request`: the whole request, one line per string (takes the place of `.url`).
    public var request: [String]?
    public var expectedResponse = 200
    public var interval = 5.0
    public var timeout = 2.0
    public var window = 8
    public var threshold = 3
    /// Good results assumed at start; by default threshold - 1 (sick until one probe succeeds).
    public var initial: Int?
}

public struct BackendDefinition: Sendable, Equatable {
    public var name: String
    public var host: String?
    public var port: String = "80"
    /// A Unix socket path instead of host and port.
    public var path: String?
    public var hostHeader: String?
    public var connectTimeout: Double?
    public var firstByteTimeout: Double?
    public var betweenBytesTimeout: Double?
    public var maxConnections: Int?
    public var probe: ProbeDefinition?
    /// `.proxy_header = 1|2`: each connection to the backend starts with a PROXY protocol header
    /// of that version naming the client, and serves one request only (as in Varnish).
    public var proxyHeader: Int?
    /// `backend NAME none;`: declared, never connected to.
    public var isNone = false

    public init(name: String, host: String? = nil, port: String = "80") {
        self.name = name
        self.host = host
        self.port = port
    }
}

enum DeclarationReader {
    static func backend(_ name: Name, _ properties: [Property]?, probes: [String: ProbeDefinition],
                        diagnostics: inout [Diagnostic]) -> BackendDefinition {
        var backend = BackendDefinition(name: name.text)
        guard let properties else {
            backend.isNone = true
            return backend
        }
        for property in properties {
            let key = property.name.text
            switch (key, property.value) {
            case ("host", .expression(.literal(.string(let host), _))): backend.host = host
            case ("port", .expression(.literal(.string(let port), _))): backend.port = port
            case ("port", .expression(.literal(.integer(let port), _))): backend.port = String(port)
            case ("path", .expression(.literal(.string(let path), _))): backend.path = path
            case ("host_header", .expression(.literal(.string(let header), _))): backend.hostHeader = header
            case ("connect_timeout", .expression(.literal(.duration(let d), _))): backend.connectTimeout = d
            case ("first_byte_timeout", .expression(.literal(.duration(let d), _))): backend.firstByteTimeout = d
            case ("between_bytes_timeout", .expression(.literal(.duration(let d), _))):
                backend.betweenBytesTimeout = d
            case ("max_connections", .expression(.literal(.integer(let n), _))): backend.maxConnections = n
            case ("proxy_header", .expression(.literal(.integer(let version), _))) where version == 1 || version == 2:
                backend.proxyHeader = version
            case ("probe", .expression(.name(let probe))): backend.probe = probes[probe.text]
            case ("probe", .probe(let inline)):
                backend.probe = self.probe(Name(text: "\(name.text).probe", range: property.name.range), inline,
                                           diagnostics: &diagnostics)
            case ("host", _), ("port", _), ("path", _), ("host_header", _):
                diagnostics.append(Diagnostic(.error, ".\(key) takes a string", at: property.name.range))
            case ("connect_timeout", _), ("first_byte_timeout", _), ("between_bytes_timeout", _):
                diagnostics.append(Diagnostic(.error, ".\(key) takes a duration", at: property.name.range,
                                              hint: "e.g. .\(key) = 5s;"))
            case ("max_connections", _):
                diagnostics.append(Diagnostic(.error, ".max_connections takes an integer", at: property.name.range))
            case ("probe", _):
                diagnostics.append(Diagnostic(.error, ".probe takes a probe name or { … }", at: property.name.range))
            case ("proxy_header", _):
                diagnostics.append(Diagnostic(.error, ".proxy_header takes 1 or 2 (the PROXY protocol version)",
                                              at: property.name.range))
            default:
                diagnostics.append(Diagnostic(.error, "unknown backend property '.\(key)'", at: property.name.range,
                                              hint: "backends take .host, .port, .path, .host_header, "
                                                + ".connect_timeout, .first_byte_timeout, .between_bytes_timeout, "
                                                + ".max_connections, .probe and .proxy_header"))
            }
        }
        if backend.host == nil && backend.path == nil {
            diagnostics.append(Diagnostic(.error, "backend '\(name.text)' has neither .host nor .path", at: name.range))
        }
        if backend.host != nil && backend.path != nil {
            diagnostics.append(Diagnostic(.error, "backend '\(name.text)' has both .host and .path", at: name.range,
                                          hint: "use .path for a Unix socket, .host and .port for TCP"))
        }
        return backend
    }

    static func probe(_ name: Name, _ properties: [Property], diagnostics: inout [Diagnostic]) -> ProbeDefinition {
        var probe = ProbeDefinition(name: name.text)
        for property in properties {
            let key = property.name.text
            switch (key, property.value) {
            case ("url", .expression(.literal(.string(let url), _))): probe.url = url
            case ("request", .strings(let lines)): probe.request = lines
            case ("request", .expression(.literal(.string(let line), _))): probe.request = [line]
            case ("expected_response", .expression(.literal(.integer(let n), _))): probe.expectedResponse = n
            case ("interval", .expression(.literal(.duration(let d), _))): probe.interval = d
            case ("timeout", .expression(.literal(.duration(let d), _))): probe.timeout = d
            case ("window", .expression(.literal(.integer(let n), _))): probe.window = n
            case ("threshold", .expression(.literal(.integer(let n), _))): probe.threshold = n
            case ("initial", .expression(.literal(.integer(let n), _))): probe.initial = n
            default:
                diagnostics.append(Diagnostic(.error, "unknown or mistyped probe property '.\(key)'",
                                              at: property.name.range,
                                              hint: "probes take .url or .request (strings), .expected_response, "
                                                + ".window, .threshold, .initial (integers), .interval and "
                                                + ".timeout (durations)"))
            }
        }
        if probe.window < 1 || probe.window > 64 || probe.threshold > probe.window || probe.threshold < 1 {
            diagnostics.append(Diagnostic(.error, "probe '\(name.text)' needs 1 ≤ .threshold ≤ .window ≤ 64",
                                          at: name.range))
        }
        return probe
    }
}
