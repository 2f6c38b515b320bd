// VCLProgram: a loaded VCL, ready to run. Built from a compilation without errors: backends,
// probes and ACLs read from the declarations, subroutines lowered (a builtin subroutine defined
// several times runs its bodies in source order), vcl_init run to make the directors. Immutable
// once loaded and shared by every event loop; a reload builds a new one.

import Synchronization

public enum VCLOutcome: Sendable, Equatable {
    /// `return(ACTION)` or `return(ACTION(ARGS))`.
    case action(String, [VCLValue])
    /// A runtime failure (or `return(fail)`): the request gets a 503.
    case failed(String)

    public var name: String {
        switch self {
        case .action(let name, _): return name
        case .failed: return "fail"
        }
    }
}

public final class VCLProgram: Sendable {
    public let backends: [BackendDefinition]
    /// The backend `req.backend_hint` starts as: one named `default`, else the first declared.
    public let defaultBackend: String?
    public let acls: [String: ACL]
    public let directors: [String: Director]
    /// The text of every file loaded, main file first (vcl.show).
    public let files: [SourceFile]
    /// What the compiler and the loader warned about (the VCL runs regardless).
    public let warnings: [Diagnostic]
    /// Whether the VCL names X-Forwarded-For anywhere: then the request flow adds the client's
    /// address to it before vcl_recv, as Varnish does, rather than when a fetch is written.
    public let readsForwardedFor: Bool
    /// The names the hosts file listed when the VCL loaded, for std.ip (read only when it calls it).
    let hostNames: Set<String>
    /// Whether the VCL calls std.rollback: then the request (and each fetch's bereq) is kept as it
    /// arrived, to go back to.
    public let callsRollback: Bool
    /// What std.fileread read, by path: as in Varnish, each file is read once per loaded VCL.
    let readFiles = Mutex<[String: String]>([:])
    let code: CompiledCode
    let subroutines: [String: StatementBlock]
    /// The builtin subroutines' bodies and whether each is trivial, by BuiltinSubroutine.rawValue.
    private let builtinBodies: [StatementBlock]
    private let trivial: [Bool]
    /// Each builtin subroutine's statements from the user's VCL (before the builtin's own).
    private let userBodies: [StatementBlock]
    /// Whether the builtin VCL's own part of each subroutine only returns its default action
    /// (vcl_deliver, vcl_hit, vcl_miss …): then only the user's part is interpreted.
    private let trivialBuiltinPart: [Bool]

    /// Loads a compilation; returns the program, or the diagnostics that prevent loading
    /// (the compilation's own errors, and those found while loading). ACL entries that are host
    /// names are looked up with `resolveName` (the system's resolver unless given).
    public static func load(_ compilation: VCLCompilation,
                            resolveName: ((String) -> Result<[[UInt8]], ACL.LookupFailure>)? = nil)
        -> Result<VCLProgram, LoadError> {
        guard !compilation.hasErrors else { return .failure(LoadError(compilation: compilation, extra: [])) }
        var diagnostics: [Diagnostic] = []
        var probes: [String: ProbeDefinition] = [:]
        var acls: [String: ACL] = [:]
        var backends: [BackendDefinition] = []
        for declaration in compilation.source.declarations {
            switch declaration {
            case .probe(let name, let properties):
                probes[name.text] = DeclarationReader.probe(name, properties, diagnostics: &diagnostics)
            case .acl(let name, let entries):
                let (acl, problems) = ACL.compile(name: name.text, entries: entries,
                                                  resolve: resolveName ?? IPConversion.addresses)
                acls[name.text] = acl
                diagnostics += problems
            default:
                break
            }
        }
        for declaration in compilation.source.declarations {
            if case .backend(let name, let properties) = declaration {
                backends.append(DeclarationReader.backend(name, properties, probes: probes, diagnostics: &diagnostics))
            }
        }
        var directorNames: Set<String> = []
        var bodies: [String: [Block]] = [:]
        var order: [String] = []
        for declaration in compilation.source.declarations {
            guard case .subroutine(let name, let body) = declaration else { continue }
            if bodies[name.text] == nil { order.append(name.text) }
            bodies[name.text, default: []].append(body)
            if name.text == "vcl_init" {
                for statement in body.statements {
                    if case .new(let object, _, _) = statement { directorNames.insert(object.text) }
                }
            }
        }
        var lowering = Lowering(acls: acls, backends: Set(backends.map(\.name)), directors: directorNames)
        var subroutines: [String: StatementBlock] = [:]
        var builtinStarts: [String: Int] = [:]
        // The builtin VCL is the last file read.
        let builtinFile = compilation.files.count - 1
        for name in order {
            (subroutines[name], builtinStarts[name]) = lowering.lower(bodies[name]!, builtinFile: builtinFile)
        }
        lowering.resolveCalls(subroutines)
        diagnostics += lowering.diagnostics
        if diagnostics.contains(where: { $0.severity == .error }) {
            return .failure(LoadError(compilation: compilation, extra: diagnostics))
        }
        let warnings = (compilation.diagnostics + diagnostics).filter { $0.severity == .warning }
        let program = VCLProgram(backends: backends, acls: acls, code: CompiledCode(lowering.code), subroutines: subroutines,
                                 builtinStarts: builtinStarts, directors: directorNames, files: compilation.files,
                                 warnings: warnings)
        var initContext = InitContext()
        if case .failed(let reason) = program.run(.initialize, &initContext) {
            let range = bodies["vcl_init"]?.first?.range ?? SourceRange(0, 0)
            return .failure(LoadError(compilation: compilation,
                                      extra: [Diagnostic(.error, "vcl_init failed: \(reason)", at: range)]))
        }
        return .success(program)
    }

    /// The warnings, each with its source line and caret.
    public var renderedWarnings: String {
        warnings.map { $0.rendered(in: files) }.joined(separator: "\n\n")
    }

    public struct LoadError: Error, Sendable {
        public let compilation: VCLCompilation
        public let extra: [Diagnostic]

        public var diagnostics: [Diagnostic] { compilation.diagnostics + extra }

        public var rendered: String {
            diagnostics.map { $0.rendered(in: compilation.files) }.joined(separator: "\n\n")
        }
    }

    private init(backends: [BackendDefinition], acls: [String: ACL], code: CompiledCode,
                 subroutines: [String: StatementBlock], builtinStarts: [String: Int], directors: Set<String>,
                 files: [SourceFile], warnings: [Diagnostic]) {
        self.backends = backends
        self.defaultBackend = backends.first { $0.name == "default" }?.name ?? backends.first?.name
        self.acls = acls
        self.code = code
        self.subroutines = subroutines
        self.files = files
        self.warnings = warnings
        self.readsForwardedFor = code.texts.contains { $0.lowercased() == "x-forwarded-for" }
            || code.constantFields.contains { $0.name.lowercased() == "x-forwarded-for" }
        let stdCalls = Set(code.expressions.compactMap { if case .std(let function, _) = $0 { function } else { nil } })
        self.hostNames = stdCalls.contains(.ip) ? IPConversion.hostsFileNames() : []
        self.callsRollback = stdCalls.contains(.rollback)
        self.builtinBodies = BuiltinSubroutine.allCases.map { subroutines[$0.name] ?? 0..<0 }
        self.userBodies = BuiltinSubroutine.allCases.map { sub in
            let body = subroutines[sub.name] ?? 0..<0
            return body.lowerBound..<(builtinStarts[sub.name] ?? body.upperBound)
        }
        func returnsDefault(_ body: StatementBlock, of sub: BuiltinSubroutine) -> Bool {
            guard body.count == 1, case .returnAction(let action, let arguments) = code.statements[body.lowerBound] else {
                return false
            }
            return code.texts[action] == sub.defaultOutcome.name && code.lists[arguments].isEmpty
        }
        self.trivial = BuiltinSubroutine.allCases.map { sub in returnsDefault(subroutines[sub.name] ?? 0..<0, of: sub) }
        self.trivialBuiltinPart = BuiltinSubroutine.allCases.map { sub in
            let body = subroutines[sub.name] ?? 0..<0
            guard let start = builtinStarts[sub.name] else { return false }
            return returnsDefault(start..<body.upperBound, of: sub)
        }
        var made: [String: Director] = [:]
        // Directors are created when vcl_init runs `new`; the objects exist up front so the
        // program stays immutable (vcl_init fills them).
        for index in subroutines["vcl_init"] ?? 0..<0 {
            if case .newDirector(let name, let kind) = code.statements[index] {
                made[code.texts[name]] = Director(name: code.texts[name], kind: kind)
            }
        }
        self.directors = made
    }

    /// Whether a subroutine does nothing but return its default action (the builtin's vcl_hit,
    /// vcl_miss, vcl_deliver …): the flow skips running it.
    public func isTrivial(_ subroutine: BuiltinSubroutine) -> Bool { trivial[subroutine.rawValue] }

    /// Whether a subroutine is the builtin VCL's alone (the user's VCL adds nothing to it): the
    /// flow may then do natively what the shipped builtin does (vcl_hash: the URL and the Host).
    public func isBuiltinOnly(_ subroutine: BuiltinSubroutine) -> Bool { userBodies[subroutine.rawValue].isEmpty }

    /// Runs only the user's part of a builtin subroutine: its outcome, or nil when it ends
    /// without returning and the builtin VCL's part would run next (the caller does what the
    /// shipped builtin does, natively).
    public func runUserPart<Context: VCLContext>(_ subroutine: BuiltinSubroutine,
                                                 _ context: inout Context) -> VCLOutcome? {
        guard !isBuiltinOnly(subroutine) else { return nil }
        let interpreter = Interpreter(program: self)
        switch interpreter.run(userBodies[subroutine.rawValue], &context) {
        case .returned(let outcome): return outcome
        case .left: return subroutine.defaultOutcome  // a bare `return;`, as run() does
        case .next: return nil
        }
    }

    /// The backend a fetch goes to for `backend` (bereq.backend, req.backend_hint): the backend
    /// itself, or the member its director picks now (nil: none is healthy). Directors are picked
    /// from when each fetch starts, as in Varnish, so a retry asks a round-robin director for its
    /// next backend and a fallback director for the first healthy one again.
    public func resolve<Context: VCLContext>(_ backend: String, health context: Context) -> String? {
        guard let director = directors[backend] else { return backend }
        return director.pick(key: nil, health: context, directors: directors)
    }

    /// Whether `backend` is healthy, or for a director whether any of its members is (asking
    /// moves no round-robin on).
    public func isHealthy<Context: VCLContext>(_ backend: String, health context: Context) -> Bool {
        guard let director = directors[backend] else { return context.isHealthy(backend) }
        return director.hasHealthyMember(health: context, directors: directors)
    }

    /// std.fileread: the file's content, read the first time it is asked for and kept for the
    /// VCL's life, as in Varnish; "" when it cannot be read (then it is tried again next time).
    func fileContents(_ path: String) -> String {
        if let known = readFiles.withLock({ $0[path] }) { return known }
        guard let content = StdLibrary.readFile(path) else { return "" }
        readFiles.withLock { $0[path] = content }
        return content
    }

    /// Whether a subroutine is defined (by the user or the builtin VCL).
    public func defines(_ subroutine: String) -> Bool { subroutines[subroutine] != nil }

    /// Runs a builtin subroutine to its return action. Falling off the end (possible only for a
    /// subroutine the builtin VCL does not define) returns the subroutine's default action.
    public func run<Context: VCLContext>(_ subroutine: BuiltinSubroutine, _ context: inout Context) -> VCLOutcome {
        let interpreter = Interpreter(program: self)
        let body = trivialBuiltinPart[subroutine.rawValue] ? userBodies[subroutine.rawValue]
            : builtinBodies[subroutine.rawValue]
        switch interpreter.run(body, &context) {
        case .returned(let outcome): return outcome
        case .next, .left: return subroutine.defaultOutcome
        }
    }

    /// Runs a builtin subroutine given by name ("vcl_recv").
    public func run<Context: VCLContext>(_ name: String, _ context: inout Context) -> VCLOutcome {
        guard let subroutine = BuiltinSubroutine(name: name) else { return .failed("no subroutine \(name)") }
        return run(subroutine, &context)
    }

    /// Runs vcl_fini (the program is being discarded: shutdown or replaced).
    public func finish() {
        var context = InitContext()
        _ = run(.finish, &context)
    }
}

/// vcl_init and vcl_fini see no request: only directors are made and filled.
struct InitContext: VCLContext {
    var banError = ""
    func read(_ variable: VariableID) -> VCLValue {
        switch variable {
        case .now: return .time(0)
        default: return .string(nil)
        }
    }
    mutating func write(_ variable: VariableID, _ value: VCLValue) {}
    func header(_ scope: HeaderScope, _ name: String) -> String? { nil }
    mutating func setHeader(_ scope: HeaderScope, _ name: String, _ value: String) {}
    mutating func unsetHeader(_ scope: HeaderScope, _ name: String) {}
    func headers(_ scope: HeaderScope, _ name: String) -> [String] { [] }
    mutating func hashData(_ value: String) {}
    mutating func synthetic(_ body: String) {}
    mutating func ban(_ expression: String) -> String? { "ban() is not available in vcl_init" }
    mutating func log(_ message: String) {}
    func isHealthy(_ backend: String) -> Bool { true }
    mutating func purgeTags(_ tags: [String], soft: Bool) -> Int { 0 }  // nothing is stored before vcl_init ends
}
