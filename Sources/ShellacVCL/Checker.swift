// Checker: what the parser cannot see. Legal returns per subroutine (a custom subroutine is held
// to every builtin one that calls it), which variables each subroutine may read, set or unset,
// undefined and recursive calls, unknown names, functions and modules, Varnish 2/3 names, and
// types (assignments, operators, conditions, regex and ACL matches, synth/pass arguments).

public struct Checker {
    private var diagnostics: [Diagnostic] = []
    private var backends: Set<String> = []
    private var probes: Set<String> = []
    private var acls: Set<String> = []
    private var objects: Set<String> = []
    private var modules: Set<String> = []
    /// Where each backend, probe and ACL is declared, and which of them something refers to.
    private var declared: [(kind: String, name: Name)] = []
    private var used: Set<String> = []
    /// Bodies per subroutine, in source order (a builtin may be defined several times).
    private var subroutines: [String: [Block]] = [:]
    private var subroutineNames: [String: Name] = [:]

    static let supportedModules: Set<String> = ["std", "directors", "xkey", "shellac", "cookie"]
    /// vmod_cookie's functions and what each returns.
    static let cookieReturnTypes: [String: VCLType] = [
        "clean": .void, "parse": .void, "set": .void, "delete": .void, "filter": .void, "filter_re": .void,
        "keep": .void, "keep_re": .void, "get": .string, "get_re": .string, "get_string": .string,
        "isset": .bool, "format_rfc1123": .string,
    ]
    /// Tag purging: vmod_xkey's functions, and Shellac's own names for them.
    static let tagFunctions: [String: Set<String>] = [
        "xkey": ["purge", "softpurge"], "shellac": ["purge_tags", "softpurge_tags"],
    ]
    /// Variables accepted so Varnish VCL loads, whose effect Shellac does not have.
    static let ignoredVariables: [String: String] = [
        "beresp.storage": "Shellac keeps every object in its one memory store (-s)",
        "beresp.do_esi": "Shellac does not process ESI",
        "beresp.do_stream": "Shellac always streams",
        "bereq.proto": "Shellac speaks HTTP/1.1 to backends",
    ]
    static let functions: Set<String> = ["regsub", "regsuball", "hash_data", "synthetic", "ban"]
    static let directorKinds: Set<String> = ["round_robin", "random", "fallback", "hash"]
    static let objectMethods: Set<String> = ["add_backend", "remove_backend", "backend"]

    public static func check(_ source: VCLSource) -> [Diagnostic] {
        var checker = Checker()
        checker.collect(source)
        checker.checkSubroutines()
        checker.reportUnused()
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
                          hint: "Shellac builds in the modules std, directors, cookie, xkey (tag purges) and shellac")
                }
            case .backend(let name, _):
                backends.insert(name.text)
                declared.append(("backend", name))
            case .probe(let name, _):
                probes.insert(name.text)
                declared.append(("probe", name))
            case .acl(let name, _):
                acls.insert(name.text)
                declared.append(("acl", name))
            case .subroutine(let name, let body):
                subroutines[name.text, default: []].append(body)
                if subroutineNames[name.text] == nil { subroutineNames[name.text] = name }
            }
        }
        for declaration in source.declarations {
            if case .backend(_, let properties?) = declaration {
                for property in properties where property.name.text == "probe" {
                    if case .expression(.name(let probe)) = property.value {
                        used.insert(probe.text)
                        if !probes.contains(probe.text) {
                            error("unknown probe '\(probe.text)'", at: probe.range,
                                  hint: "declare it with probe \(probe.text) { … }")
                        }
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

    /// Declared but never referred to: as Varnish reports them (there, by default, as errors).
    /// The default backend (named `default`, else the first) is used implicitly.
    private mutating func reportUnused() {
        let defaultBackend = declared.first { $0.kind == "backend" && $0.name.text == "default" }?.name.text
            ?? declared.first { $0.kind == "backend" }?.name.text
        for (kind, name) in declared where !used.contains(name.text) && name.text != defaultBackend {
            diagnostics.append(Diagnostic(.warning, "\(kind) '\(name.text)' is never used", at: name.range))
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

    /// How deep calls may nest. Following them recurses here and when the VCL runs: a chain of
    /// 200,000 subroutines each calling the next overflowed the stack.
    static let maxCallDepth = 100

    /// Depth-first over calls from a builtin subroutine, reporting undefined and recursive calls
    /// once. A subroutine already followed from the same builtin one is not followed again (a
    /// chain of subroutines each calling the next twice took time doubling with every link).
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
                        error("recursive call to '\(call.text)'", at: call.range,
                              hint: "VCL subroutines may not recurse")
                    }
                } else if contexts[call.text]?.contains(root) == true {
                    continue  // followed from this builtin subroutine already: its calls were checked then
                } else if stack.count >= Self.maxCallDepth {
                    if !diagnostics.contains(where: { $0.range == call.range }) {
                        error("calls nested more than \(Self.maxCallDepth) deep", at: call.range,
                              hint: "call the subroutines one after another rather than each from the last")
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
        case .set(let target, let op, let value, _):
            if let ignored = Self.ignoredVariables[target.text] {
                diagnostics.append(Diagnostic(.warning, "'\(target.text)' is ignored: \(ignored)", at: target.range))
            }
            let valueType = type(of: value, contexts: contexts)
            guard let definition = checkWrite(target, contexts: contexts, verb: "set"), let valueType else { return }
            if op != "=" {
                if op == "+=" ? !(definition.type == .string || Self.isNumeric(definition.type))
                    : !Self.isNumeric(definition.type) {
                    error("'\(op)' does not apply to \(definition.type.rawValue) '\(target.text)'", at: target.range)
                }
            } else if !Self.canAssign(valueType, to: definition.type) {
                error("cannot set \(definition.type.rawValue) '\(target.text)' to \(valueType.withArticle)",
                      at: value.range, hint: Self.assignmentHint(valueType, to: definition.type, value: value))
            }
        case .unset(let target, _):
            checkWrite(target, contexts: contexts, verb: "unset")
            if let definition = Variables.lookup(target.text), !definition.isFamily {
                error("only headers can be unset, not '\(target.text)'", at: target.range)
            }
        case .conditional(let branches, let otherwise, _):
            for branch in branches {
                if let conditionType = type(of: branch.condition, contexts: contexts), !Self.isTruthy(conditionType) {
                    error("\(conditionType.withArticle) cannot be used as a condition", at: branch.condition.range)
                }
                check(branch.body, in: sub, contexts: contexts)
            }
            if let otherwise { check(otherwise, in: sub, contexts: contexts) }
        case .returnAction(let action, _, _) where action?.text == "vcl":
            error("return(vcl(LABEL)) is not supported", at: action!.range,
                  hint: "Shellac runs one VCL at a time, without labels; route with backends or directors instead")
        case .returnAction(let action, let arguments, _):
            if let action { checkReturn(action, contexts: contexts) }
            let types = arguments.map { type(of: $0, contexts: contexts) }
            if let action {
                checkReturnArguments(action, arguments: arguments, types: types)
            }
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
                for argument in arguments { _ = type(of: argument, contexts: contexts) }
            } else {
                error("expected a constructor call after 'new \(name.text) ='", at: constructor.range)
            }
        case .expression(let expression, _):
            _ = type(of: expression, contexts: contexts)
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

    /// Reports a write where it is not allowed; returns the definition when the write is allowed.
    @discardableResult
    private mutating func checkWrite(_ target: Name, contexts: Set<String>, verb: String) -> Variables.Definition? {
        guard let definition = variable(target) else { return nil }
        for context in contexts.sorted() where !definition.writable.contains(context) {
            if definition.writable.isEmpty {
                error("'\(target.text)' is read-only", at: target.range)
            } else {
                error("'\(target.text)' cannot be \(verb) in \(context)", at: target.range,
                      hint: "it can be \(verb) in \(Variables.describe(definition.writable))")
            }
            return nil
        }
        return definition
    }

    private mutating func checkReturnArguments(_ action: Name, arguments: [Expression], types: [VCLType?]) {
        let expected: [VCLType]
        switch action.text {
        case "synth", "error": expected = [.int, .string]
        case "pass" where !arguments.isEmpty: expected = [.duration]
        case "fail" where !arguments.isEmpty: expected = [.string]  // the reason logged (Varnish 6+)
        default:
            if !arguments.isEmpty { error("return(\(action.text)) takes no arguments", at: arguments[0].range) }
            return
        }
        // pass, fail and error may come bare (error then means 503, as in Varnish); synth may not.
        if arguments.count > expected.count || (action.text == "synth" && arguments.isEmpty) {
            let wanted = expected.count == 2 ? "a status and an optional reason"
                : expected == [.string] ? "one reason" : "a duration"
            error("return(\(action.text)(…)) takes \(wanted)", at: action.range)
            return
        }
        for (index, argument) in arguments.enumerated() {
            guard let actual = types[index] else { continue }
            if !Self.canAssign(actual, to: expected[index]) || (expected[index] == .string && actual != .string) {
                error("argument \(index + 1) of \(action.text)() must be \(expected[index].withArticle), "
                        + "not \(actual.withArticle)", at: argument.range)
            }
        }
    }

    // MARK: types

    static func isNumeric(_ type: VCLType) -> Bool { [.int, .real, .duration, .bytes].contains(type) }

    static func isTruthy(_ type: VCLType) -> Bool { ![.void, .acl, .probe, .object].contains(type) }

    /// Whether a value of `value` may be stored in a `target`: same type, anything printable into a
    /// STRING, and INT into REAL.
    static func canAssign(_ value: VCLType, to target: VCLType) -> Bool {
        if value == target { return true }
        if target == .string { return ![.void, .acl, .probe, .object].contains(value) }
        return target == .real && value == .int
    }

    static func assignmentHint(_ value: VCLType, to target: VCLType, value expression: Expression) -> String? {
        switch (value, target) {
        case (.string, .duration):
            if case .literal(.string(let text), _) = expression { return "write the duration without quotes: \(text)" }
            return "convert with std.duration(STRING, fallback)"
        case (.int, .duration): return "durations need a unit, e.g. 10s"
        case (.string, .int): return "convert with std.integer(STRING, fallback)"
        case (.string, .backend): return "name a backend or use a director's .backend()"
        default: return nil
        }
    }

    /// The result type of a binary operator, or nil after reporting a mismatch.
    private mutating func binaryType(_ op: String, _ lhs: VCLType, _ rhs: VCLType, range: SourceRange) -> VCLType? {
        switch op {
        case "&&", "||":
            if !Self.isTruthy(lhs) || !Self.isTruthy(rhs) {
                error("'\(op)' needs conditions on both sides", at: range)
                return nil
            }
            return .bool
        case "==", "!=":
            let numeric = Self.isNumeric(lhs) && Self.isNumeric(rhs) && (lhs == rhs || Set([lhs, rhs]) == [.int, .real])
            if lhs != rhs && !numeric {
                error("cannot compare \(lhs.withArticle) with \(rhs.withArticle)", at: range)
                return nil
            }
            return .bool
        case "<", ">", "<=", ">=":
            let ordered: Set<VCLType> = [.int, .real, .duration, .time, .bytes]
            if !(ordered.contains(lhs) && (lhs == rhs || Set([lhs, rhs]) == [.int, .real])) {
                error("cannot order \(lhs.withArticle) and \(rhs.withArticle)", at: range)
                return nil
            }
            return .bool
        case "+":
            if lhs == .string || rhs == .string { return .string }  // concatenation stringifies the other side
            if lhs == .time && rhs == .duration { return .time }
            if lhs == rhs && Self.isNumeric(lhs) { return lhs }
            if Set([lhs, rhs]) == [.int, .real] { return .real }
        case "-":
            if lhs == .time && rhs == .duration { return .time }
            if lhs == .time && rhs == .time { return .duration }
            if lhs == rhs && Self.isNumeric(lhs) { return lhs }
            if Set([lhs, rhs]) == [.int, .real] { return .real }
        case "*", "/":
            if Self.isNumeric(lhs) && (rhs == .int || rhs == .real) { return lhs == .int && rhs == .real ? .real : lhs }
            if lhs == rhs && lhs == .int { return .int }
        default:
            break
        }
        error("'\(op)' does not apply to \(lhs.withArticle) and \(rhs.withArticle)", at: range)
        return nil
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

    /// The expression's type after checking it; nil when a problem in it was already reported.
    private mutating func type(of expression: Expression, contexts: Set<String>) -> VCLType? {
        switch expression {
        case .literal(let literal, _):
            switch literal {
            case .string: return .string
            case .integer: return .int
            case .real: return .real
            case .duration: return .duration
            case .bytes: return .bytes
            case .bool: return .bool
            }
        case .name(let name):
            if Variables.roots.contains(where: { name.text.hasPrefix($0) }) || Variables.lookup(name.text) != nil {
                guard let definition = variable(name) else { return nil }
                for context in contexts.sorted() where !definition.readable.contains(context) {
                    error("'\(name.text)' is not available in \(context)", at: name.range,
                          hint: definition.readable.isEmpty ? "it can only be set"
                              : "it can be used in \(Variables.describe(definition.readable))")
                    return nil
                }
                return definition.type
            }
            if backends.contains(name.text) || acls.contains(name.text) || probes.contains(name.text) {
                used.insert(name.text)
            }
            if backends.contains(name.text) { return .backend }
            if acls.contains(name.text) { return .acl }
            if probes.contains(name.text) { return .probe }
            if objects.contains(name.text) { return .object }
            error("unknown name '\(name.text)'", at: name.range,
                  hint: "not a variable, backend, ACL, probe or object declared in this VCL")
            return nil
        case .call(let function, let arguments, let range) where function.text == "std.rollback":
            // Its argument is req or bereq itself, which must exist where it is called.
            guard arguments.count == 1, case .name(let object) = arguments[0],
                  ["req", "bereq"].contains(object.text) else {
                error("std.rollback takes req or bereq", at: range)
                return nil
            }
            let side: Subroutines.Side = object.text == "req" ? .client : .backend
            let allowed = Set(Subroutines.builtin.filter { $0.side == side }.map(\.name))
            if let outside = contexts.sorted().first(where: { !allowed.contains($0) }) {
                error("'\(object.text)' is not available in \(outside)", at: object.range)
            }
            return checkFunction(function, contexts: contexts)
        case .call(let function, let arguments, _):
            let argumentTypes = arguments.map { type(of: $0, contexts: contexts) }
            if function.text.hasPrefix("cookie."), function.text.hasSuffix("_re"), arguments.count == 1 {
                checkLiteralRegex(arguments[0])
            }
            if ["regsub", "regsuball"].contains(function.text), arguments.count == 3 {
                checkLiteralRegex(arguments[1])
                if argumentTypes.contains(where: { $0 != nil && $0 != .string }) {
                    error("\(function.text)() takes three STRINGs", at: function.range)
                }
            }
            return checkFunction(function, contexts: contexts)
        case .method(let target, let method, _, _):
            _ = type(of: target, contexts: contexts)
            guard ["lower", "upper"].contains(method.text) else {
                error("unknown method '\(method.text)'", at: method.range, hint: "values have .lower() and .upper()")
                return nil
            }
            return .string
        case .unary(let op, let operand, let range):
            guard let operandType = type(of: operand, contexts: contexts) else { return nil }
            if op == "!" {
                if !Self.isTruthy(operandType) { error("'!' needs a condition", at: range) }
                return .bool
            }
            guard Self.isNumeric(operandType) else {
                error("'-' does not apply to \(operandType.withArticle)", at: range)
                return nil
            }
            return operandType
        case .named(_, let value):
            return type(of: value, contexts: contexts)
        case .binary(let op, let lhs, let rhs, let range):
            let lhsType = type(of: lhs, contexts: contexts)
            if op == "~" || op == "!~" {
                if lhsType == .ip {
                    if case .name(let acl) = rhs, acls.contains(acl.text) {
                        used.insert(acl.text)
                        return .bool
                    }
                    error("an IP is matched against an ACL name", at: rhs.range)
                    return nil
                }
                if case .name(let acl) = rhs, acls.contains(acl.text) {
                    error("only an IP can be matched against the ACL '\(acl.text)'", at: lhs.range)
                    return nil
                }
                _ = type(of: rhs, contexts: contexts)
                checkLiteralRegex(rhs)
                if let lhsType, lhsType != .string {
                    error("'\(op)' matches a STRING, not \(lhsType.withArticle)", at: lhs.range)
                }
                return .bool
            }
            let rhsType = type(of: rhs, contexts: contexts)
            guard let lhsType, let rhsType else { return nil }
            return binaryType(op, lhsType, rhsType, range: range)
        }
    }

    /// Regular expressions are compiled (PCRE2) when the VCL loads, so they must be literals, and
    /// a bad one is reported at the character where PCRE2 stopped.
    private mutating func checkLiteralRegex(_ expression: Expression) {
        guard case .literal(.string(let pattern), let range) = expression else {
            error("a regular expression must be a string literal", at: expression.range,
                  hint: "regexes are compiled once when the VCL loads")
            return
        }
        do {
            _ = try VCLRegex(pattern)
        } catch {
            // Inside "…": one byte of quote before the pattern (an approximation for {"…"}).
            let at = min(range.start + 1 + error.offset, max(range.start, range.end - 1))
            self.error("invalid regular expression: \(error.message)", at: SourceRange(at, at + 1, file: range.file))
        }
    }

    static let stdReturnTypes: [String: VCLType] = [
        "healthy": .bool, "querysort": .string, "collect": .void, "tolower": .string, "toupper": .string,
        "integer": .int, "real": .real, "duration": .duration, "ip": .ip, "time": .time, "log": .void,
        "ban": .bool, "ban_error": .string, "syslog": .void, "random": .real, "strstr": .string,
        "fileread": .string, "port": .int, "rollback": .void, "timestamp": .void, "bytes": .bytes, "round": .real,
        "real2integer": .int, "real2time": .time, "time2integer": .int, "time2real": .real, "strftime": .string,
        "fnmatch": .bool, "file_exists": .bool, "getenv": .string,
    ]

    /// Checks a function's name and where it is called; returns its result type.
    private mutating func checkFunction(_ function: Name, contexts: Set<String>) -> VCLType? {
        let parts = function.text.split(separator: ".").map(String.init)
        if parts.count == 1 {
            guard Self.functions.contains(parts[0]) else {
                error("unknown function '\(function.text)'", at: function.range)
                return nil
            }
            if parts[0] == "hash_data", contexts != ["vcl_hash"] {
                error("hash_data() is only allowed in vcl_hash", at: function.range)
            }
            if parts[0] == "synthetic", !contexts.isSubset(of: ["vcl_synth", "vcl_backend_error"]) {
                error("synthetic() is only allowed in vcl_synth and vcl_backend_error", at: function.range)
            }
            return ["regsub", "regsuball"].contains(parts[0]) ? .string : .void
        } else if parts.count == 2, parts[0] == "std" {
            if !modules.contains("std") {
                error("'std' is used without 'import std;'", at: function.range)
                return nil
            }
            guard let result = Self.stdReturnTypes[parts[1]] else {
                error("unknown function '\(function.text)'", at: function.range)
                return nil
            }
            return result
        } else if parts.count == 2, parts[0] == "cookie" {
            if !modules.contains("cookie") {
                error("'cookie' is used without 'import cookie;'", at: function.range)
                return nil
            }
            guard let result = Self.cookieReturnTypes[parts[1]] else {
                error("unknown function '\(function.text)'", at: function.range,
                      hint: "cookie has " + Self.cookieReturnTypes.keys.sorted().joined(separator: ", "))
                return nil
            }
            return result
        } else if parts.count == 2, let functions = Self.tagFunctions[parts[0]] {
            if !modules.contains(parts[0]) {
                error("'\(parts[0])' is used without 'import \(parts[0]);'", at: function.range)
                return nil
            }
            guard functions.contains(parts[1]) else {
                error("unknown function '\(function.text)'", at: function.range,
                      hint: "\(parts[0]) has \(functions.sorted().joined(separator: " and "))")
                return nil
            }
            return .int
        } else if parts.count == 2, objects.contains(parts[0]) {
            guard Self.objectMethods.contains(parts[1]) else {
                error("unknown method '\(parts[1])' of '\(parts[0])'", at: function.range,
                      hint: "directors have add_backend, remove_backend and backend")
                return nil
            }
            return parts[1] == "backend" ? .backend : .void
        } else {
            error("unknown function '\(function.text)'", at: function.range)
            return nil
        }
    }
}
