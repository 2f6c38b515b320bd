// Variables: every VCL variable — its name (or prefix for header families), its type, where it
// can be read and where it can be written or unset — as one table for the checker and the docs.

/// VCL's value types (vcl.rst), as far as the checker distinguishes them.
public enum VCLType: String, Sendable {
    case string = "STRING", int = "INT", real = "REAL", duration = "DURATION", time = "TIME", bool = "BOOL"
    case ip = "IP", backend = "BACKEND", bytes = "BYTES", acl = "ACL", probe = "PROBE", object = "OBJECT"
    case void = "VOID"
}

extension VCLType {
    /// "a STRING", "an INT", for messages.
    var withArticle: String { (["INT", "IP", "OBJECT", "ACL"].contains(rawValue) ? "an " : "a ") + rawValue }
}

public enum Variables {
    public struct Definition: Sendable {
        /// The name, or a prefix ending in '.' for a family such as `req.http.`.
        public let name: String
        public let type: VCLType
        public let readable: Set<String>
        public let writable: Set<String>

        init(name: String, readable: Set<String>, writable: Set<String>) {
            self.name = name
            self.readable = readable
            self.writable = writable
            self.type = Variables.type(of: name)
        }

        public var isFamily: Bool { name.hasSuffix(".") }
    }

    static let client: Set<String> = ["vcl_recv", "vcl_pipe", "vcl_pass", "vcl_hash", "vcl_purge", "vcl_miss",
                                      "vcl_hit", "vcl_deliver", "vcl_synth"]
    static let backend: Set<String> = ["vcl_backend_fetch", "vcl_backend_response", "vcl_backend_error"]
    static let everywhere: Set<String> = client.union(backend).union(["vcl_init", "vcl_fini"])
    static let beresp: Set<String> = ["vcl_backend_response", "vcl_backend_error"]
    static let resp: Set<String> = ["vcl_deliver", "vcl_synth"]
    /// bereq may be changed in vcl_pipe and in every backend subroutine (as in Varnish 7): changed
    /// in vcl_backend_response or vcl_backend_error, it goes with a retry.
    static let bereqWritable: Set<String> = backend.union(["vcl_pipe"])

    public static let table: [Definition] = [
        .init(name: "client.ip", readable: everywhere, writable: []),
        .init(name: "client.identity", readable: client.union(backend), writable: client),
        .init(name: "server.ip", readable: everywhere, writable: []),
        .init(name: "server.hostname", readable: everywhere, writable: []),
        .init(name: "server.identity", readable: everywhere, writable: []),
        .init(name: "remote.ip", readable: client.union(backend), writable: []),
        .init(name: "local.ip", readable: everywhere, writable: []),
        .init(name: "now", readable: everywhere, writable: []),

        .init(name: "req.method", readable: client, writable: client),
        .init(name: "req.url", readable: client, writable: client),
        .init(name: "req.proto", readable: client, writable: []),
        .init(name: "req.http.", readable: client, writable: client),
        .init(name: "req.backend_hint", readable: client, writable: client),
        .init(name: "req.restarts", readable: client, writable: []),
        .init(name: "req.xid", readable: client, writable: []),
        .init(name: "req.time", readable: client, writable: []),
        .init(name: "req.grace", readable: client, writable: client),
        .init(name: "req.ttl", readable: client, writable: client),
        .init(name: "req.hash_always_miss", readable: client, writable: client),
        .init(name: "req.hash_ignore_busy", readable: client, writable: client),
        .init(name: "req.can_gzip", readable: client, writable: []),
        .init(name: "req.is_hitmiss", readable: client, writable: []),
        .init(name: "req.is_hitpass", readable: client, writable: []),
        .init(name: "req.esi_level", readable: client, writable: []),

        .init(name: "bereq.method", readable: backend.union(["vcl_pipe"]), writable: bereqWritable),
        .init(name: "bereq.url", readable: backend.union(["vcl_pipe"]), writable: bereqWritable),
        .init(name: "bereq.proto", readable: backend.union(["vcl_pipe"]), writable: bereqWritable),
        .init(name: "bereq.http.", readable: backend.union(["vcl_pipe"]), writable: bereqWritable),
        .init(name: "bereq.backend", readable: backend.union(["vcl_pipe"]), writable: bereqWritable),
        .init(name: "bereq.retries", readable: backend, writable: []),
        .init(name: "bereq.uncacheable", readable: backend, writable: []),
        .init(name: "bereq.is_bgfetch", readable: backend, writable: []),
        .init(name: "bereq.xid", readable: backend, writable: []),
        .init(name: "bereq.time", readable: backend, writable: []),
        .init(name: "bereq.connect_timeout", readable: backend.union(["vcl_pipe"]), writable: bereqWritable),
        .init(name: "bereq.first_byte_timeout", readable: backend, writable: backend),
        .init(name: "bereq.between_bytes_timeout", readable: backend, writable: backend),

        .init(name: "beresp.status", readable: beresp, writable: beresp),
        .init(name: "beresp.reason", readable: beresp, writable: beresp),
        .init(name: "beresp.http.", readable: beresp, writable: beresp),
        .init(name: "beresp.ttl", readable: beresp, writable: beresp),
        .init(name: "beresp.grace", readable: beresp, writable: beresp),
        .init(name: "beresp.keep", readable: beresp, writable: beresp),
        .init(name: "beresp.uncacheable", readable: beresp, writable: beresp),
        .init(name: "beresp.do_stream", readable: beresp, writable: beresp),
        .init(name: "beresp.do_gzip", readable: beresp, writable: beresp),
        .init(name: "beresp.do_gunzip", readable: beresp, writable: beresp),
        .init(name: "beresp.do_esi", readable: beresp, writable: beresp),
        .init(name: "beresp.was_304", readable: beresp, writable: []),
        .init(name: "beresp.age", readable: beresp, writable: []),
        .init(name: "beresp.backend.name", readable: beresp, writable: []),
        .init(name: "beresp.storage", readable: beresp, writable: beresp),
        .init(name: "beresp.body", readable: [], writable: ["vcl_backend_error"]),

        .init(name: "obj.ttl", readable: ["vcl_hit", "vcl_deliver"], writable: []),
        .init(name: "obj.grace", readable: ["vcl_hit", "vcl_deliver"], writable: []),
        .init(name: "obj.keep", readable: ["vcl_hit", "vcl_deliver"], writable: []),
        .init(name: "obj.age", readable: ["vcl_hit", "vcl_deliver"], writable: []),
        .init(name: "obj.hits", readable: ["vcl_hit", "vcl_deliver"], writable: []),
        .init(name: "obj.status", readable: ["vcl_hit"], writable: []),
        .init(name: "obj.reason", readable: ["vcl_hit"], writable: []),
        .init(name: "obj.http.", readable: ["vcl_hit"], writable: []),
        .init(name: "obj.uncacheable", readable: ["vcl_deliver"], writable: []),

        .init(name: "resp.status", readable: resp, writable: resp),
        .init(name: "resp.reason", readable: resp, writable: resp),
        .init(name: "resp.http.", readable: resp, writable: resp),
        .init(name: "resp.body", readable: [], writable: ["vcl_synth"]),
        .init(name: "resp.proto", readable: resp, writable: []),
        .init(name: "resp.is_streaming", readable: resp, writable: []),
    ]

    /// Types by name; everything not listed (headers, URLs, reasons, names) is a STRING.
    static func type(of name: String) -> VCLType {
        switch name {
        case "client.ip", "server.ip", "remote.ip", "local.ip": return .ip
        case "now", "req.time", "bereq.time": return .time
        case "req.backend_hint", "bereq.backend": return .backend
        case "req.restarts", "req.esi_level", "bereq.retries", "beresp.status", "obj.hits", "obj.status",
             "resp.status":
            return .int
        case "req.grace", "req.ttl", "bereq.connect_timeout", "bereq.first_byte_timeout",
             "bereq.between_bytes_timeout", "beresp.ttl", "beresp.grace", "beresp.keep", "beresp.age", "obj.ttl",
             "obj.grace", "obj.keep", "obj.age":
            return .duration
        case "req.hash_always_miss", "req.hash_ignore_busy", "req.can_gzip", "req.is_hitmiss", "req.is_hitpass",
             "bereq.uncacheable", "bereq.is_bgfetch", "beresp.uncacheable", "beresp.do_stream", "beresp.do_gzip",
             "beresp.do_gunzip", "beresp.do_esi", "beresp.was_304", "obj.uncacheable", "resp.is_streaming":
            return .bool
        default: return .string
        }
    }

    /// The definition for a variable as written (header names match their family).
    public static func lookup(_ name: String) -> Definition? {
        if let exact = table.first(where: { !$0.isFamily && $0.name == name }) { return exact }
        return table.first { $0.isFamily && name.hasPrefix($0.name) && name.count > $0.name.count }
    }

    /// The table as reference text (`shellacd -x variables`): name, type, where it can be read
    /// and where it can be set.
    public static func describe() -> String {
        var out = "VCL variables: NAME (TYPE), where it can be read, and where it can be set.\n"
        out += "X.http.NAME is any header NAME (req.http.Host …); \"client\" means vcl_recv, vcl_pipe, vcl_pass, vcl_hash,\n"
        out += "vcl_purge, vcl_miss, vcl_hit, vcl_deliver and vcl_synth; \"backend\" means vcl_backend_fetch,\n"
        out += "vcl_backend_response and vcl_backend_error.\n\n"
        for definition in table {
            let name = definition.isFamily ? definition.name + "NAME" : definition.name
            out += "\(name) (\(definition.type.rawValue))\n"
            out += "    read: \(summarise(definition.readable))\n"
            out += "    set:  \(definition.writable.isEmpty ? "read-only" : summarise(definition.writable))\n"
        }
        return out
    }

    private static func summarise(_ subs: Set<String>) -> String {
        if subs.isEmpty { return "nowhere" }
        if subs == everywhere { return "everywhere" }
        var parts: [String] = []
        var rest = subs
        if client.isSubset(of: rest) {
            parts.append("client")
            rest.subtract(client)
        }
        if backend.isSubset(of: rest) {
            parts.append("backend")
            rest.subtract(backend)
        }
        return (parts + rest.sorted()).joined(separator: ", ")
    }

    /// Varnish 2/3 names and their VCL 4 spelling.
    static let renamed: [String: String] = ["req.request": "req.method", "req.backend": "req.backend_hint",
                                            "req.grace_ttl": "req.grace", "obj.response": "resp.reason",
                                            "beresp.response": "beresp.reason",
                                            "req.hash": "hash_data(…) in vcl_hash"]

    /// The variable prefixes that name variables at all (anything else is a backend, ACL or object).
    static let roots: [String] = ["client.", "server.", "remote.", "local.", "req.", "bereq.", "beresp.", "obj.",
                                  "resp."]

    /// Human list of subroutines, sorted, for messages.
    static func describe(_ subs: Set<String>) -> String {
        let sorted = subs.sorted()
        switch sorted.count {
        case 0: return "no subroutine"
        case 1: return sorted[0]
        default: return sorted.dropLast().joined(separator: ", ") + " and " + sorted.last!
        }
    }
}
