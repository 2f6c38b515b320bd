// Checker: what the parser cannot see. Legal returns per subroutine (a custom subroutine is held
// to every builtin one that calls it), which variables each subroutine may read, set or unset,
// undefined and recursive calls, unknown names, functions and modules, and Varnish 2/3 names.
// Types are not checked yet.

public struct Checker {
    private var diagnostics: [Diagnostic] = []
    private var backends: Set<String> = []
    private var probes: Set<String> = []
    private var acls: Set<String> = []
    private var objects: Set<String> = []
    private var modules: Set<String> = []
    /// Bodies per subroutine, in source order (a builtin may be defined several times).
    private var subroutines: [String: [Block]] = [:]
    private var subroutineNames: [String: Name] = [:]

    static let supportedModules: Set<String> = ["std", "directors"]
    static let functions: Set<String> = ["regsub", "regsuball", "hash_data", "synthetic", "ban"]
    static let stdFunctions: Set<String> = ["healthy", "querysort", "collect", "tolower", "toupper", "integer",
                                            "real", "duration", "ip", "time", "log", "ban", "ban_error", "syslog",
                                            "random", "strstr", "fileread", "port", "rollback", "timestamp"]
    static let directorKinds: Set<String> = ["round_robin", "random", "fallback", "hash"]
    static let objectMethods: Set<String> = ["add_backend", "remove_backend", "backend"]

    public static func check(_ source: VCLSource) -> [Diagnostic] {
        var checker = Checker()
        checker.collect(source)
        checker.checkSubroutines()
        return checker.diagnostics
    }

    private mutating func error(_ message: String, at range: SourceRange, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, message, at: range, hint: hint))
    }

    // MARK: declarations

    private mutating func collect(_ source: VCLSource) {
        for declaration in source.declarations {
            switch declaration {
            case .include:
                break  // resolved before checking
            case .importModule(let name):
                if Self.supportedModules.contains(name.text) {
                    modules.insert(name.text)
                } else {
                    error("module '\(name.text)' is not available", at: name.range,
                          hint: "Shellac builds in the modules std and directors")
                }
            case .backend(let name, _):
                backends.insert(name.text)
            case .probe(let name, _):
                probes.insert(name.text)
            case .acl(let name, _):
                acls.insert(name.text)
            case .subroutine(let name, let body):
                subroutines[name.text, default: []].append(body)
                if subroutineNames[name.text] == nil { subroutineNames[name.text] = name }
            }
        }
        for declaration in source.declarations {
            if case .backend(_, let properties?) = declaration {
                for property in properties where property.name.text == "probe" {
                    if case .expression(.name(let probe)) = property.value, !probes.contains(probe.text) {
                        error("unknown probe '\(probe.text)'", at: probe.range, hint: "declare it with probe \(probe.text) { … }")
                    }
                }
            }
        }
        for body in subroutines["vcl_init"] ?? [] {
            for statement in body.statements {
                if case .new(let name, _, _) = statement { objects.insert(name.text) }
            }
        }
    }

    // MARK: subroutines and calls

    private mutating func checkSubroutines() {
        for (name, token) in subroutineNames.sorted(by: { $0.value.range.start < $1.value.range.start })
        where name.hasPrefix("vcl_") && Subroutines.definition(name) == nil {
            if let replacement = Subroutines.renamed[name] {
                error("'\(name)' is Varnish 3 syntax", at: token.range, hint: "it is called \(replacement) in VCL 4")
            } else {
                error("unknown builtin subroutine '\(name)'", at: token.range,
                      hint: "names starting with vcl_ are reserved for the builtin subroutines")
            }
        }
        // Which builtin subroutines each subroutine runs under, following calls.
        var contexts: [String: Set<String>] = [:]
        for definition in Subroutines.builtin where subroutines[definition.name] != nil {
            var stack: [String] = []
            visit(definition.name, from: definition.name, stack: &stack, contexts: &contexts)
        }
        for (name, token) in subroutineNames.sorted(by: { $0.value.range.start < $1.value.range.start })
        where !name.hasPrefix("vcl_") && contexts[name] == nil {
            diagnostics.append(Diagnostic(.warning, "subroutine '\(name)' is never called", at: token.range))
        }
        for (name, bodies) in subroutines.sorted(by: { $0.key < $1.key }) {
            let subContexts = contexts[name] ?? []
            guard !subContexts.isEmpty else { continue }
            for body in bodies { check(body, in: name, contexts: subContexts) }
        }
    }

    /// Depth-first over calls from a builtin subroutine, reporting undefined and recursive calls once.
    private mutating func visit(_ name: String, from root: String, stack: inout [String],
                                contexts: inout [String: Set<String>]) {
        contexts[name, default: []].insert(root)
        stack.append(name)
        defer { stack.removeLast() }
        for body in subroutines[name] ?? [] {
            for call in Self.calls(in: body.statements) {
                if subroutines[call.text] == nil {
                    if !diagnostics.contains(where: { $0.range == call.range }) {
                        error("call to undefined subroutine '\(call.text)'", at: call.range)
                    }
                } else if stack.contains(call.text) {
                    if !diagnostics.contains(where: { $0.range == call.range }) {
                        error("recursive call to '\(call.text)'", at: call.range, hint: "VCL subroutines may not recurse")
                    }
                } else {
                    visit(call.text, from: root, stack: &stack, contexts: &contexts)
                }
            }
        }
    }

    private static func calls(in statements: [Statement]) -> [Name] {
        statements.flatMap { statement -> [Name] in
            switch statement {
            case .call(let name, _): return [name]
            case .conditional(let branches, let otherwise, _):
                return branches.flatMap { calls(in: $0.body.statements) } + calls(in: otherwise?.statements ?? [])
            case .block(let block): return calls(in: block.statements)
            default: return []
            }
        }
    }

    // MARK: statements

    private mutating func check(_ block: Block, in sub: String, contexts: Set<String>) {
        for statement in block.statements { check(statement, in: sub, contexts: contexts) }
    }

    private mutating func check(_ statement: Statement, in sub: String, contexts: Set<String>) {
        switch statement {
        case .set(let target, _, let value, _):
            checkWrite(target, contexts: contexts, verb: "set")
            check(value, contexts: contexts)
        case .unset(let target, _):
            checkWrite(target, contexts: contexts, verb: "unset")
            if let definition = Variables.lookup(target.text), !definition.isFamily {
                error("only headers can be unset, not '\(target.text)'", at: target.range)
            }
        case .conditional(let branches, let otherwise, _):
            for branch in branches {
                check(branch.condition, contexts: contexts)
                check(branch.body, in: sub, contexts: contexts)
            }
            if let otherwise { check(otherwise, in: sub, contexts: contexts) }
        case .returnAction(let action, let arguments, _):
            if let action { checkReturn(action, contexts: contexts) }
            for argument in arguments { check(argument, contexts: contexts) }
        case .call:
            break  // checked with the call graph
        case .new(let name, let constructor, _):
            if contexts != ["vcl_init"] {
                error("'new' is only allowed in vcl_init", at: name.range)
            }
            if case .call(let function, let arguments, _) = constructor {
                let parts = function.text.split(separator: ".")
                if parts.count != 2 || parts[0] != "directors" || !Self.directorKinds.contains(String(parts[1])) {
                    error("unknown constructor '\(function.text)'", at: function.range,
                          hint: "directors.round_robin(), directors.random(), directors.fallback() or directors.hash()")
                } else if !modules.contains("directors") {
                    error("'directors' is used without 'import directors;'", at: function.range)
                }
                for argument in arguments { check(argument, contexts: contexts) }
            } else {
                error("expected a constructor call after 'new \(name.text) ='", at: constructor.range)
            }
        case .expression(let expression, _):
            check(expression, contexts: contexts)
        case .block(let block):
            check(block, in: sub, contexts: contexts)
        }
    }

    private mutating func checkReturn(_ action: Name, contexts: Set<String>) {
        for context in contexts.sorted() {
            guard let definition = Subroutines.definition(context) else { continue }
            if !definition.returns.contains(action.text) {
                error("return(\(action.text)) is not allowed in \(context)", at: action.range,
                      hint: Subroutines.migration(forReturn: action.text, in: context)
                        ?? "allowed there: \(definition.returns.sorted().joined(separator: ", "))")
                return
            }
        }
    }

    // MARK: variables and expressions

    private mutating func checkWrite(_ target: Name, contexts: Set<String>, verb: String) {
        guard let definition = variable(target) else { return }
        for context in contexts.sorted() where !definition.writable.contains(context) {
            if definition.writable.isEmpty {
                error("'\(target.text)' is read-only", at: target.range)
            } else {
                error("'\(target.text)' cannot be \(verb) in \(context)", at: target.range,
                      hint: "it can be \(verb) in \(Variables.describe(definition.writable))")
            }
            return
        }
    }

    /// The variable's definition, or nil after reporting an unknown or renamed one.
    private mutating func variable(_ name: Name) -> Variables.Definition? {
        if let replacement = Variables.renamed[name.text] {
            error("'\(name.text)' is Varnish 3 syntax", at: name.range, hint: "write \(replacement)")
            return nil
        }
        guard let definition = Variables.lookup(name.text) else {
            error("unknown variable '\(name.text)'", at: name.range)
            return nil
        }
        return definition
    }

    private mutating func check(_ expression: Expression, contexts: Set<String>) {
        switch expression {
        case .literal:
            break
        case .name(let name):
            if Variables.roots.contains(where: { name.text.hasPrefix($0) }) {
                guard let definition = variable(name) else { return }
                for context in contexts.sorted() where !definition.readable.contains(context) {
                    error("'\(name.text)' is not available in \(context)", at: name.range,
                          hint: definition.readable.isEmpty ? "it can only be set"
                              : "it can be used in \(Variables.describe(definition.readable))")
                    return
                }
            } else if !(backends.contains(name.text) || acls.contains(name.text) || probes.contains(name.text)
                        || objects.contains(name.text)) {
                error("unknown name '\(name.text)'", at: name.range,
                      hint: "not a variable, backend, ACL, probe or object declared in this VCL")
            }
        case .call(let function, let arguments, _):
            checkFunction(function, contexts: contexts)
            for argument in arguments { check(argument, contexts: contexts) }
        case .method(let target, _, let arguments, _):
            check(target, contexts: contexts)
            for argument in arguments { check(argument, contexts: contexts) }
        case .unary(_, let operand, _):
            check(operand, contexts: contexts)
        case .binary(let op, let lhs, let rhs, _):
            check(lhs, contexts: contexts)
            if (op == "~" || op == "!~"), case .name(let acl) = rhs, acls.contains(acl.text) { return }
            check(rhs, contexts: contexts)
        }
    }

    private mutating func checkFunction(_ function: Name, contexts: Set<String>) {
        let parts = function.text.split(separator: ".").map(String.init)
        if parts.count == 1 {
            guard Self.functions.contains(parts[0]) else {
                error("unknown function '\(function.text)'", at: function.range)
                return
            }
            if parts[0] == "hash_data", contexts != ["vcl_hash"] {
                error("hash_data() is only allowed in vcl_hash", at: function.range)
            }
            if parts[0] == "synthetic", !contexts.isSubset(of: ["vcl_synth", "vcl_backend_error"]) {
                error("synthetic() is only allowed in vcl_synth and vcl_backend_error", at: function.range)
            }
        } else if parts.count == 2, parts[0] == "std" {
            if !modules.contains("std") {
                error("'std' is used without 'import std;'", at: function.range)
            } else if !Self.stdFunctions.contains(parts[1]) {
                error("unknown function '\(function.text)'", at: function.range)
            }
        } else if parts.count == 2, objects.contains(parts[0]) {
            if !Self.objectMethods.contains(parts[1]) {
                error("unknown method '\(parts[1])' of '\(parts[0])'", at: function.range,
                      hint: "directors have add_backend, remove_backend and backend")
            }
        } else {
            error("unknown function '\(function.text)'", at: function.range)
        }
    }
}
