// Subroutines: the builtin subroutines and the return actions each allows, as one table that
// the checker (and later the docs) read. From Varnish's states.rst and ../shared/VCL.md.

/// The builtin subroutines as values, so running one needs no lookup by name.
public enum BuiltinSubroutine: Int, CaseIterable, Sendable {
    case recv, pipe, pass, hash, purge, miss, hit, deliver, synth
    case backendFetch, backendResponse, backendError, initialize, finish

    public var name: String {
        switch self {
        case .recv: return "vcl_recv"
        case .pipe: return "vcl_pipe"
        case .pass: return "vcl_pass"
        case .hash: return "vcl_hash"
        case .purge: return "vcl_purge"
        case .miss: return "vcl_miss"
        case .hit: return "vcl_hit"
        case .deliver: return "vcl_deliver"
        case .synth: return "vcl_synth"
        case .backendFetch: return "vcl_backend_fetch"
        case .backendResponse: return "vcl_backend_response"
        case .backendError: return "vcl_backend_error"
        case .initialize: return "vcl_init"
        case .finish: return "vcl_fini"
        }
    }

    /// `return (DEFAULT)`: what the subroutine does when it ends without returning. Made from
    /// literals where it is used (a copy of a stored outcome retained its name and arguments,
    /// and releasing it later cost as much again: about 100 instructions a VCL hit).
    var defaultOutcome: VCLOutcome {
        switch self {
        case .recv: .action("hash", [])
        case .hash: .action("lookup", [])
        case .miss, .pass, .backendFetch: .action("fetch", [])
        case .pipe: .action("pipe", [])
        case .purge: .action("synth", [])
        case .initialize, .finish: .action("ok", [])
        case .hit, .deliver, .synth, .backendResponse, .backendError: .action("deliver", [])
        }
    }

    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }
}

public enum Subroutines {
    public struct Definition: Sendable {
        public let name: String
        public let returns: Set<String>
        /// Client side (req.*), backend side (bereq.*), or housekeeping (vcl_init/fini).
        public let side: Side
    }

    public enum Side: Sendable {
        case client, backend, housekeeping
    }

    public static let builtin: [Definition] = [
        .init(name: "vcl_recv", returns: ["hash", "pass", "pipe", "purge", "synth", "restart", "fail"], side: .client),
        .init(name: "vcl_pipe", returns: ["pipe", "synth", "fail"], side: .client),
        .init(name: "vcl_pass", returns: ["fetch", "synth", "restart", "fail"], side: .client),
        .init(name: "vcl_hash", returns: ["lookup", "fail"], side: .client),
        .init(name: "vcl_purge", returns: ["synth", "restart", "fail"], side: .client),
        .init(name: "vcl_miss", returns: ["fetch", "pass", "synth", "restart", "fail"], side: .client),
        .init(name: "vcl_hit", returns: ["deliver", "pass", "synth", "restart", "fail", "fetch", "miss"],
              side: .client),
        .init(name: "vcl_deliver", returns: ["deliver", "synth", "restart", "fail"], side: .client),
        .init(name: "vcl_synth", returns: ["deliver", "restart", "fail"], side: .client),
        .init(name: "vcl_backend_fetch", returns: ["fetch", "abandon", "error", "fail"], side: .backend),
        .init(name: "vcl_backend_response", returns: ["deliver", "retry", "abandon", "pass", "error", "fail"],
              side: .backend),
        .init(name: "vcl_backend_error", returns: ["deliver", "retry", "abandon", "fail"], side: .backend),
        .init(name: "vcl_init", returns: ["ok", "fail"], side: .housekeeping),
        .init(name: "vcl_fini", returns: ["ok", "fail"], side: .housekeeping),
    ]

    public static func definition(_ name: String) -> Definition? {
        builtin.first { $0.name == name }
    }

    /// Varnish 2/3 subroutine names and their VCL 4 replacement.
    public static let renamed: [String: String] = ["vcl_fetch": "vcl_backend_response", "vcl_error": "vcl_synth"]

    /// Return actions that were renamed, per subroutine where it matters.
    static func migration(forReturn action: String, in sub: String) -> String? {
        switch (action, sub) {
        case ("lookup", "vcl_recv"): return "in vcl_recv, write return (hash);"
        case ("hit_for_pass", _): return "write return (pass(DURATION)); in vcl_backend_response"
        case ("error", let s) where Subroutines.definition(s)?.side == .client:
            return "write return (synth(STATUS, \"reason\"));"
        default: return nil
        }
    }
}
