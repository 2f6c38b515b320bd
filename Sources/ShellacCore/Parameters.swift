// Parameters: every runtime parameter in one table (name, kind, default, bounds, unit, help).
// `shellacd -p name=value` sets them, `shellacd -x parameters` prints the table, and the rest
// of the program reads typed values from a `Parameters` value.

import ShellacVCL

public enum ParameterKind: Sendable {
    case duration, bytes, count, bool

    var unit: String {
        switch self {
        case .duration: return "seconds"
        case .bytes: return "bytes"
        case .count, .bool: return ""
        }
    }
}

public struct ParameterDefinition: Sendable {
    public let name: String
    public let kind: ParameterKind
    public let defaultValue: Double
    public let minimum: Double
    public let maximum: Double
    public let help: String
}

public struct ParameterError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

public struct Parameters: Sendable {
    public static let table: [ParameterDefinition] = [
        .init(name: "threads", kind: .count, defaultValue: 0, minimum: 0, maximum: 256,
              help: "Event loops (threads) serving connections; 0 means one per CPU core."),
        .init(name: "listen_depth", kind: .count, defaultValue: 1024, minimum: 1, maximum: 65535,
              help: "Backlog of the listening socket."),
        .init(name: "accept_backoff", kind: .duration, defaultValue: 0.05, minimum: 0.001, maximum: 60,
              help: "After accepting a connection fails (no file descriptors or socket memory left), how "
                  + "long a listener waits before accepting again; the connections wait in its backlog."),
        .init(name: "http_req_size", kind: .bytes, defaultValue: 32 * 1024, minimum: 256, maximum: 16_777_216,
              help: "Largest request head (request line and header fields); larger gets 431 and a close."),
        .init(name: "http_req_hdr_len", kind: .bytes, defaultValue: 8 * 1024, minimum: 40, maximum: 16_777_216,
              help: "Largest single header field line in a request; larger gets 431 and a close."),
        .init(name: "http_max_hdr", kind: .count, defaultValue: 100, minimum: 8, maximum: 65535,
              help: "Most header fields in a request (431 and a close) or a backend response (502)."),
        .init(name: "http_resp_size", kind: .bytes, defaultValue: 64 * 1024, minimum: 256, maximum: 16_777_216,
              help: "Largest backend response head (status line and header fields); larger is a failed "
                  + "fetch (502)."),
        .init(name: "http_resp_hdr_len", kind: .bytes, defaultValue: 8 * 1024, minimum: 40, maximum: 16_777_216,
              help: "Largest single header field line in a backend response; larger is a failed fetch (502)."),
        .init(name: "http_url_len", kind: .bytes, defaultValue: 8 * 1024, minimum: 16, maximum: 16_777_216,
              help: "Longest request target (URL); longer gets 414 and a close."),
        .init(name: "http_req_body_max", kind: .bytes, defaultValue: 100 * 1024 * 1024, minimum: 0,
              maximum: Double(Int64.max),
              help: "Largest request body forwarded to a backend; larger gets 413 and a close."),
        .init(name: "http_req_body_discard", kind: .bytes, defaultValue: 1024 * 1024, minimum: 0,
              maximum: Double(Int64.max),
              help: "Most of a request body read and dropped after its response ended first (an app "
                  + "answering 401 or 413 before taking the upload), so the connection stays open; "
                  + "a longer rest closes it."),
        .init(name: "timeout_idle", kind: .duration, defaultValue: 5, minimum: 0.01, maximum: 3600,
              help: "How long an idle keep-alive client connection is kept open."),
        .init(name: "timeout_req", kind: .duration, defaultValue: 10, minimum: 0.01, maximum: 3600,
              help: "A whole request head must arrive within this time of its first byte (slowloris)."),
        .init(name: "timeout_body", kind: .duration, defaultValue: 10, minimum: 0.01, maximum: 3600,
              help: "Longest pause between two pieces of a request body."),
        .init(name: "idle_send_timeout", kind: .duration, defaultValue: 60, minimum: 0.01, maximum: 3600,
              help: "Longest a client may go without taking any of a response it is behind on; then the "
                  + "connection is closed."),
        .init(name: "send_timeout", kind: .duration, defaultValue: 600, minimum: 0.01, maximum: 86400,
              help: "Longest a connection may stay behind on sending its responses (from when the client "
                  + "first fell behind); then it is closed."),
        .init(name: "connect_timeout", kind: .duration, defaultValue: 3.5, minimum: 0.01, maximum: 3600,
              help: "Time allowed to open a backend connection."),
        .init(name: "first_byte_timeout", kind: .duration, defaultValue: 60, minimum: 0.01, maximum: 3600,
              help: "Time allowed between sending a backend request and the first byte of its response."),
        .init(name: "between_bytes_timeout", kind: .duration, defaultValue: 60, minimum: 0.01, maximum: 3600,
              help: "Longest pause between two reads of a backend response."),
        .init(name: "backend_idle_timeout", kind: .duration, defaultValue: 60, minimum: 0.01, maximum: 3600,
              help: "How long an idle backend connection is kept in the pool."),
        .init(name: "backend_max_idle", kind: .count, defaultValue: 100, minimum: 0, maximum: 100_000,
              help: "Idle backend connections kept per backend per event loop."),
        .init(name: "backend_failure_threshold", kind: .count, defaultValue: 5, minimum: 1, maximum: 1000,
              help: "Connection failures in a row after which a backend is sick (passive health) until a "
                  + "probe succeeds or backend_sick_retry passes."),
        .init(name: "backend_sick_retry", kind: .duration, defaultValue: 5, minimum: 0.01, maximum: 3600,
              help: "How long a backend without a probe stays sick after backend_failure_threshold failures."),
        .init(name: "backend_wait_timeout", kind: .duration, defaultValue: 10, minimum: 0, maximum: 3600,
              help: "How long a fetch waits for a connection slot of a backend at its .max_connections; then 503."),
        .init(name: "backend_wait_max", kind: .count, defaultValue: 1000, minimum: 0, maximum: 1e7,
              help: "Fetches that may wait for one backend at its .max_connections; more get 503 at once."),
        .init(name: "backend_dns_interval", kind: .duration, defaultValue: 30, minimum: 0.01, maximum: 86400,
              help: "How often backend host names are resolved again (a changed address is followed)."),
        .init(name: "default_ttl", kind: .duration, defaultValue: 0, minimum: 0, maximum: 1e9,
              help: "TTL for responses without freshness information. 0: such responses are not reused "
                  + "(Varnish uses 120 s)."),
        .init(name: "default_grace", kind: .duration, defaultValue: 10, minimum: 0, maximum: 1e9,
              help: "How long an object is kept past its TTL for stale delivery."),
        .init(name: "default_keep", kind: .duration, defaultValue: 0, minimum: 0, maximum: 1e9,
              help: "How long an object is kept past TTL and grace for conditional revalidation."),
        .init(name: "uncacheable_ttl", kind: .duration, defaultValue: 120, minimum: 0, maximum: 1e9,
              help: "Lifetime of a hit-for-miss marker left by an uncacheable response."),
        .init(name: "max_variants", kind: .count, defaultValue: 16, minimum: 1, maximum: 10_000,
              help: "Variants (Vary) kept per URL; storing one more evicts the least recently stored."),
        .init(name: "waitinglist_max", kind: .count, defaultValue: 10_000, minimum: 0, maximum: 1e7,
              help: "Requests that may wait on one backend fetch; more fetch on their own."),
        .init(name: "waitinglist_timeout", kind: .duration, defaultValue: 65, minimum: 0.01, maximum: 3600,
              help: "Longest wait on another request's fetch for the response head; then 503."),
        .init(name: "shutdown_timeout", kind: .duration, defaultValue: 10, minimum: 0, maximum: 3600,
              help: "On SIGTERM/SIGINT, how long in-flight requests may take to finish before exit."),
        .init(name: "max_restarts", kind: .count, defaultValue: 4, minimum: 0, maximum: 100,
              help: "return(restart) allowed per request; one more answers 503."),
        .init(name: "max_retries", kind: .count, defaultValue: 4, minimum: 0, maximum: 100,
              help: "return(retry) allowed per backend fetch; one more goes to vcl_backend_error."),
        .init(name: "vcl_value_max", kind: .bytes, defaultValue: 64 * 1024, minimum: 1024, maximum: 16_777_216,
              help: "Longest header value, URL or reason VCL may set; past it the subroutine fails (503), as "
                  + "Varnish's does when its workspace runs out."),
        .init(name: "pcre2_match_limit", kind: .count, defaultValue: 10_000, minimum: 1, maximum: 1e9,
              help: "Backtracking steps one VCL regex match may take; past it the match fails the subroutine "
                  + "(503), as in Varnish, so a pattern that backtracks without end on a client's URL costs "
                  + "microseconds, not milliseconds."),
        .init(name: "pcre2_depth_limit", kind: .count, defaultValue: 20, minimum: 1, maximum: 1e9,
              help: "Nesting depth one VCL regex match may reach without JIT (PCRE2's depth limit)."),
        .init(name: "pipe_timeout", kind: .duration, defaultValue: 60, minimum: 0.01, maximum: 86400,
              help: "A piped connection (return(pipe), WebSocket) closes after this long without traffic."),
        .init(name: "expiry_interval", kind: .duration, defaultValue: 1, minimum: 0.01, maximum: 3600,
              help: "How often expired objects are removed from the store (and the ban lurker runs)."),
        .init(name: "ban_cutoff", kind: .count, defaultValue: 5_000, minimum: 0, maximum: 10_000_000,
              help: "Most bans kept: past it, objects not yet checked against the oldest are removed as "
                  + "if banned, so a lookup never tests a longer list (bans on req.* wait for lookups). "
                  + "0: no limit."),
        .init(name: "ban_lurker_batch", kind: .count, defaultValue: 100_000, minimum: 0, maximum: 100_000_000,
              help: "Most tests of obj.* bans against stored objects each expiry run (the ban lurker); "
                  + "0 leaves them to lookups."),
        .init(name: "http_gzip_support", kind: .bool, defaultValue: 1, minimum: 0, maximum: 1,
              help: "As in Varnish: fetches for the cache ask the backend for gzip, one stored gzip copy "
                  + "serves every client (Vary: Accept-Encoding is not told apart) and is decompressed for "
                  + "clients that do not take gzip."),
    ]

    private var values: [String: Double] {
        didSet { perRequest = PerRequest(values) }
    }

    /// The values read for every request or backend fetch, kept as fields: looking a name up
    /// hashes it, which cost more than the rest of the freshness arithmetic together.
    public struct PerRequest: Sendable {
        public let maxWaiters: Int
        public let maxRestarts: Int
        /// Seconds.
        public let idleTimeout: Double
        public let defaultTTL: Double
        public let defaultGrace: Double
        public let defaultKeep: Double
        public let uncacheableTTL: Double
        /// What bereq.*_timeout read until VCL sets them.
        public let backendTimeouts: BackendTimeouts
        /// http_gzip_support.
        public let gzipSupport: Bool

        init(_ values: [String: Double]) {
            maxWaiters = Int(values["waitinglist_max"]!)
            maxRestarts = Int(values["max_restarts"]!)
            idleTimeout = values["timeout_idle"]!
            defaultTTL = values["default_ttl"]!
            defaultGrace = values["default_grace"]!
            defaultKeep = values["default_keep"]!
            uncacheableTTL = values["uncacheable_ttl"]!
            backendTimeouts = BackendTimeouts(connect: values["connect_timeout"]!,
                                              firstByte: values["first_byte_timeout"]!,
                                              betweenBytes: values["between_bytes_timeout"]!)
            gzipSupport = values["http_gzip_support"]! != 0
        }
    }

    public private(set) var perRequest: PerRequest

    public init() {
        let values = Dictionary(uniqueKeysWithValues: Self.table.map { ($0.name, $0.defaultValue) })
        self.values = values
        perRequest = PerRequest(values)
    }

    public static func definition(_ name: String) -> ParameterDefinition? {
        table.first { $0.name == name }
    }

    /// Sets one parameter from its text form ("3.5s", "500ms", "32k", "100"), checking its bounds.
    public mutating func set(_ name: String, _ text: String) throws(ParameterError) {
        guard let definition = Self.definition(name) else {
            throw ParameterError(description: "unknown parameter '\(name)'; `shellacd -x parameters` lists them")
        }
        let value: Double?
        switch definition.kind {
        case .duration: value = Self.parseDuration(text)
        case .bytes: value = Self.parseBytes(text)
        case .count: value = Double(text).flatMap { $0.rounded() == $0 ? $0 : nil }
        case .bool: value = Self.parseBool(text)
        }
        guard let value else {
            throw ParameterError(description: "parameter '\(name)': cannot read '\(text)' as \(definition.kindName)")
        }
        guard value >= definition.minimum, value <= definition.maximum else {
            throw ParameterError(description: "parameter '\(name)': \(text) is outside "
                + "\(definition.format(definition.minimum))...\(definition.format(definition.maximum))")
        }
        values[name] = value
    }

    /// Sets from "name=value".
    public mutating func set(assignment: String) throws(ParameterError) {
        guard let eq = assignment.firstIndex(of: "=") else {
            throw ParameterError(description: "expected name=value, got '\(assignment)'")
        }
        try set(String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...]))
    }

    public subscript(name: String) -> Double {
        guard let value = values[name] else { preconditionFailure("no parameter named \(name)") }
        return value
    }

    public func int(_ name: String) -> Int { Int(self[name]) }

    /// Sets VCLLimits from vcl_value_max, pcre2_match_limit and pcre2_depth_limit; done before
    /// any VCL is compiled (its patterns take their limits when they are made).
    public func applyVCLLimits() {
        VCLLimits.valueMax = int("vcl_value_max")
        VCLLimits.regexMatch = int("pcre2_match_limit")
        VCLLimits.regexDepth = int("pcre2_depth_limit")
    }

    /// "3.5", "3.5s", "500ms", "2m", "1h", "1d", "1w", "1y".
    public static func parseDuration(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
                                         ("w", 604_800), ("y", 31_536_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * factor }
        }
        return Double(text)
    }

    /// "on" / "off", as Varnish writes them, or true/false, yes/no, 1/0.
    public static func parseBool(_ text: String) -> Double? {
        switch text.lowercased() {
        case "on", "true", "yes", "1": return 1
        case "off", "false", "no", "0": return 0
        default: return nil
        }
    }

    /// "1024", "32k", "32KB", "256m", "1g" (binary multiples).
    public static func parseBytes(_ text: String) -> Double? {
        var t = Substring(text.lowercased())
        if t.hasSuffix("b") { t = t.dropLast() }
        let factors: [Character: Double] = ["k": 1024, "m": 1_048_576, "g": 1_073_741_824, "t": 1_099_511_627_776]
        if let last = t.last, let factor = factors[last] {
            return Double(t.dropLast()).map { ($0 * factor).rounded() }
        }
        return Double(t)
    }

    /// Parameters read each time they are used, so `param.set` changes them for what comes next;
    /// the others are read once at startup (sizes, pools, threads) and need a restart.
    public static let changeableWhileRunning: Set<String> = [
        "timeout_idle", "timeout_req", "timeout_body", "first_byte_timeout", "between_bytes_timeout",
        "idle_send_timeout", "send_timeout", "accept_backoff", "default_ttl", "default_grace", "default_keep", "uncacheable_ttl", "waitinglist_timeout", "shutdown_timeout",
        "max_restarts", "max_retries", "pipe_timeout", "backend_wait_timeout", "backend_wait_max",
        "http_gzip_support", "http_req_body_discard", "ban_cutoff", "ban_lurker_batch",
    ]

    /// The table as `shellacd -x parameters` prints it (or one parameter of it).
    public func describe(only name: String? = nil) -> String {
        Self.table.filter { name == nil || $0.name == name }.map { d in
            let unit = d.kind.unit.isEmpty ? "" : " [\(d.kind.unit)]"
            let when = Self.changeableWhileRunning.contains(d.name) ? "" : " (set at startup)"
            let bounds = d.kind == .bool ? "" : ", min \(d.format(d.minimum)), max \(d.format(d.maximum))"
            return "\(d.name)\n    Value: \(d.format(self[d.name]))\(unit)  (default \(d.format(d.defaultValue))"
                + "\(bounds))\(when)\n    \(d.help)"
        }.joined(separator: "\n\n") + "\n"
    }

    /// The current value of a parameter as text, with its unit.
    public func formatted(_ name: String) -> String? {
        guard let d = Self.definition(name) else { return nil }
        return d.format(self[name]) + (d.kind.unit.isEmpty ? "" : " [\(d.kind.unit)]")
    }
}

extension ParameterDefinition {
    var kindName: String {
        switch kind {
        case .duration: return "a duration (e.g. 3.5s, 500ms, 2m)"
        case .bytes: return "a size (e.g. 8k, 256m)"
        case .count: return "a whole number"
        case .bool: return "on or off"
        }
    }

    func format(_ value: Double) -> String {
        if kind == .bool { return value != 0 ? "on" : "off" }
        if value >= 1e15 { return "unlimited" }
        if value.rounded() == value { return String(Int64(value)) }
        return String(value)
    }
}

/// The parameters connect_timeout, first_byte_timeout and between_bytes_timeout, in seconds: what
/// bereq.connect_timeout and the others read until VCL sets them (as in Varnish). A backend's own
/// .connect_timeout and the like apply when VCL set none (the fetch resolves that).
public struct BackendTimeouts: Sendable, Equatable {
    public var connect: Double
    public var firstByte: Double
    public var betweenBytes: Double

    /// The parameters' defaults (contexts made without a server, in tests).
    public static let defaults = Parameters().perRequest.backendTimeouts
}
