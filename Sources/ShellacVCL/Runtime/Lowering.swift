// Lowering: turns the checked syntax tree into the compiled code the interpreter runs (the
// flat tables of Compiled). Runs after the checker, so it only reports what the checker leaves
// to load time (functions Shellac does not provide, constructs it cannot run).

import ShellacHTTP

struct Lowering {
    let acls: [String: ACL]
    let backends: Set<String>
    let directors: Set<String>
    var diagnostics: [Diagnostic] = []
    private(set) var code = CompiledCode.Builder()
    /// Each pattern's place in the regex table: a pattern used twice is compiled once.
    private var regexes: [String: TableIndex] = [:]

    init(acls: [String: ACL], backends: Set<String>, directors: Set<String>) {
        self.acls = acls
        self.backends = backends
        self.directors = directors
    }

    private mutating func error(_ message: String, at range: SourceRange, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, message, at: range, hint: hint))
    }

    /// Several bodies (a builtin subroutine defined more than once) as one block, in order.
    mutating func lower(_ blocks: [Block]) -> StatementBlock {
        lower(blocks, builtinFile: -1).whole
    }

    /// A subroutine's parts, the user's first and the builtin VCL's (`builtinFile`) last, as one
    /// block; `builtinStart` is where the builtin's statements begin within it.
    mutating func lower(_ blocks: [Block], builtinFile: Int) -> (whole: StatementBlock, builtinStart: Int) {
        var user: [CompiledStatement] = []
        var builtin: [CompiledStatement] = []
        for block in blocks {
            let lowered = block.statements.flatMap { lower($0) }
            if block.range.file == builtinFile { builtin += lowered } else { user += lowered }
        }
        let whole = code.add(user + builtin)
        return (whole, whole.lowerBound + user.count)
    }

    mutating func lower(_ block: Block) -> StatementBlock {
        lower([block])
    }

    /// Every `call` in the code made to run the subroutine it names.
    mutating func resolveCalls(_ subroutines: [String: StatementBlock]) {
        code.resolveCalls(subroutines)
    }

    private mutating func add(_ expression: CompiledExpression) -> ExpressionIndex {
        code.add(expression)
    }

    private mutating func constant(_ value: VCLValue) -> CompiledExpression {
        .constant(code.constant(value))
    }

    mutating func lower(_ statement: Statement) -> [CompiledStatement] {
        switch statement {
        case .set(let target, let op, let value, _):
            if op == "=", let variable = Self.stringVariable(.name(target)), Self.isQuerySort(of: variable, value) {
                return [.sortQuery(variable)]
            }
            var expression = lower(value)
            if op != "=", let arithmetic = CompiledExpression.Operator(rawValue: String(op.dropLast())) {
                expression = add(.binary(arithmetic, lower(.name(target)), expression))
            }
            if let (scope, header) = Self.header(target.text) {
                if case .constant(let index) = code.expressions[expression], case .string(let text?) = code.constants[index],
                   HTTPField.isValidValue(text) {  // (one that is not fails when it runs, as any bad value does)
                    return [.setConstantHeader(scope, field: code.constantField(ConstantField(name: header, value: text)))]
                }
                return [.setHeader(scope, name: code.text(header), expression)]
            }
            guard let variable = VariableID(rawValue: target.text) else {
                error("'\(target.text)' cannot be set", at: target.range)
                return []
            }
            return [.setVariable(variable, Variables.type(of: variable.rawValue), expression)]
        case .unset(let target, _):
            guard let (scope, header) = Self.header(target.text) else {
                error("only headers can be unset", at: target.range)
                return []
            }
            return [.unsetHeader(scope, name: code.text(header))]
        case .conditional(let branches, let otherwise, _):
            let compiled = branches.map { CompiledBranch(condition: lower($0.condition), body: lower($0.body)) }
            let otherwiseBlock = otherwise.map { lower($0) }
            let start = code.branches.count
            code.branches.append(contentsOf: compiled)
            return [.conditional(branches: start..<code.branches.count, otherwise: otherwiseBlock)]
        case .returnAction(let action, let arguments, _):
            guard let action else { return [.leave] }
            let name = action.text == "miss" ? "fetch" : action.text  // legacy vcl_hit return(miss)
            return [.returnAction(name: code.text(name), arguments: code.list(arguments.map { lower($0) }))]
        case .call(let name, _):
            return [.call(name: code.text(name.text))]
        case .new(let name, let constructor, _):
            guard case .call(let function, _, _) = constructor,
                  let kind = Director.Kind(rawValue: String(function.text.split(separator: ".").last ?? "")) else {
                return []
            }
            return [.newDirector(name: code.text(name.text), kind)]
        case .expression(let expression, _):
            if case .call(let function, let arguments, let range) = expression {
                let parts = function.text.split(separator: ".").map(String.init)
                switch (parts.count, parts.first ?? "", parts.last ?? "") {
                case (1, "hash_data", _):
                    guard arguments.count == 1 else { break }
                    return [.hashData(lower(arguments[0]))]
                case (1, "synthetic", _):
                    guard arguments.count == 1 else { break }
                    return [.synthetic(lower(arguments[0]))]
                case (2, let object, "add_backend") where directors.contains(object):
                    guard (1...2).contains(arguments.count) else {
                        error("add_backend takes a backend and an optional weight", at: range)
                        return []
                    }
                    return [.addBackend(director: code.text(object), backend: lower(arguments[0]),
                                        weight: arguments.count == 2 ? lower(arguments[1]) : nil)]
                case (2, let object, "remove_backend") where directors.contains(object):
                    guard arguments.count == 1 else { break }
                    return [.removeBackend(director: code.text(object), backend: lower(arguments[0]))]
                default:
                    break
                }
            }
            return [.evaluate(lower(expression))]
        case .block(let block):
            return [.block(lower(block))]
        }
    }

    /// `req.http.Host` → (.req, "Host").
    static func header(_ name: String) -> (HeaderScope, String)? {
        guard let dot = name.firstIndex(of: "."), let scope = HeaderScope(rawValue: String(name[..<dot])) else {
            return nil
        }
        let rest = name[name.index(after: dot)...]
        guard rest.hasPrefix("http."), rest.count > 5 else { return nil }
        return (scope, String(rest.dropFirst(5)))
    }

    /// A header name as clients and servers mostly spell it ("host" → "Host"), for reads only
    /// (names compare case-insensitively; a lookup whose spelling matches exactly is cheaper).
    /// A name with any capital in it is left as written, and so is every name a VCL sets.
    static func usualSpelling(_ name: String) -> String {
        guard !name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return name }
        var capital = true
        return String(decoding: name.utf8.map { byte -> UInt8 in
            defer { capital = byte == UInt8(ascii: "-") }
            return capital && byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte
        }, as: UTF8.self)
    }

    mutating func lower(_ expression: Expression) -> ExpressionIndex {
        add(compile(expression))
    }

    private mutating func compile(_ expression: Expression) -> CompiledExpression {
        switch expression {
        case .literal(let literal, _):
            switch literal {
            case .string(let s): return constant(.string(s))
            case .integer(let n): return constant(.int(n))
            case .real(let x): return constant(.real(x))
            case .duration(let d): return constant(.duration(d))
            case .bytes(let n): return constant(.bytes(n))
            case .bool(let b): return constant(.bool(b))
            }
        case .name(let name):
            if let variable = VariableID(rawValue: name.text) { return .variable(variable) }
            if let (scope, header) = Self.header(name.text) {
                return .header(scope, name: code.text(Self.usualSpelling(header)))
            }
            if backends.contains(name.text) { return constant(.backend(name.text)) }
            if directors.contains(name.text) { return .directorBackend(name: code.text(name.text), key: nil) }
            error("'\(name.text)' cannot be used as a value here", at: name.range)
            return constant(.string(nil))
        case .call(let function, let arguments, let range):
            return lowerCall(function, arguments, range: range)
        case .named(_, let value):
            return compile(value)  // by position, where the function's parameters are not named
        case .method(let target, let method, _, _):
            return method.text == "upper" ? .upper(lower(target)) : .lower(lower(target))
        case .unary(let op, let operand, _):
            return op == "!" ? .not(lower(operand)) : .negate(lower(operand))
        case .binary(let op, let lhs, let rhs, _):
            if let comparison = CompiledExpression.Operator(rawValue: op), comparison.isComparison,
               let variable = Self.numberVariable(lhs), let number = Self.number(rhs) {
                return .variableCompare(variable, comparison, number: number)
            }
            switch op {
            case "&&": return .and(lower(lhs), lower(rhs))
            case "||": return .or(lower(lhs), lower(rhs))
            case "~", "!~":
                if case .name(let name) = rhs, let acl = acls[name.text] {
                    return .aclMatch(lower(lhs), acl: code.acl(acl), negated: op == "!~")
                }
                guard let regex = regex(rhs) else { return constant(.bool(false)) }
                if let variable = Self.stringVariable(lhs) {
                    return .variableMatch(variable, regex: regex, negated: op == "!~")
                }
                return .regexMatch(lower(lhs), regex: regex, negated: op == "!~")
            case "==", "!=":
                if case .literal(.string(let text), _) = rhs {
                    if let variable = Self.stringVariable(lhs) {
                        return .variableEqualsString(variable, text: code.text(text), negated: op == "!=")
                    }
                    return .equalsString(lower(lhs), text: code.text(text), negated: op == "!=")
                }
                return .binary(op == "==" ? .equal : .notEqual, lower(lhs), lower(rhs))
            default:
                guard let binary = CompiledExpression.Operator(rawValue: op) else {
                    error("operator '\(op)' is not supported", at: expression.range)
                    return constant(.bool(false))
                }
                return .binary(binary, lower(lhs), lower(rhs))
            }
        }
    }

    private mutating func lowerCall(_ function: Name, _ arguments: [Expression],
                                    range: SourceRange) -> CompiledExpression {
        let parts = function.text.split(separator: ".").map(String.init)
        if parts.count == 1 {
            switch parts[0] {
            case "regsub", "regsuball":
                guard arguments.count == 3, let regex = regex(arguments[1]) else {
                    error("\(parts[0]) takes a string, a regular expression and a replacement", at: range)
                    return constant(.string(nil))
                }
                return .regsub(lower(arguments[0]), regex: regex, lower(arguments[2]),
                               all: parts[0] == "regsuball")
            case "ban":
                guard arguments.count == 1 else { break }
                return .ban(lower(arguments[0]))
            default:
                break
            }
            error("'\(parts[0])' cannot be used here", at: function.range)
            return constant(.string(nil))
        }
        if parts[0] == "std" {
            if parts[1] == "ban", arguments.count == 1 { return .ban(lower(arguments[0])) }
            guard let std = StdFunction(rawValue: parts[1]) else {
                error("std.\(parts[1]) is not supported by Shellac", at: function.range,
                      hint: "supported: " + Self.stdNames)
                return constant(.string(nil))
            }
            if std == .rollback {  // std.rollback(req) / std.rollback(bereq): the object, not a value
                guard arguments.count == 1, case .name(let name) = arguments[0], ["req", "bereq"].contains(name.text) else {
                    error("std.rollback takes req or bereq", at: range)
                    return constant(.string(nil))
                }
                return .std(.rollback, arguments: code.list([add(constant(.string(name.text)))]))
            }
            if std == .collect {
                guard let first = arguments.first, case .name(let name) = first, Self.header(name.text) != nil else {
                    error("std.collect takes a header, e.g. std.collect(req.http.Cookie)", at: range)
                    return constant(.string(nil))
                }
            }
            return .std(std, arguments: code.list(stdArguments(std, arguments, range: range)))
        }
        if parts[0] == "cookie", let function = CookieFunction(rawValue: parts[1]) {
            var regexIndex: TableIndex?
            if [.filterRe, .keepRe, .getRe].contains(function) {
                guard arguments.count == 1, let compiled = regex(arguments[0]) else {
                    error("cookie.\(parts[1]) takes a regular expression (a string literal)", at: range)
                    return constant(.string(nil))
                }
                regexIndex = compiled
            }
            let values = regexIndex == nil ? arguments.map { lower($0) } : []
            return .cookie(function, arguments: code.list(values), regex: regexIndex)
        }
        if Checker.tagFunctions[parts[0]] != nil, arguments.count == 1 {
            return .purgeTags(lower(arguments[0]), soft: parts[1].hasPrefix("soft"))
        }
        if directors.contains(parts[0]), parts[1] == "backend" {
            return .directorBackend(name: code.text(parts[0]), key: arguments.first.map { lower($0) })
        }
        error("'\(function.text)' cannot be used as a value", at: function.range)
        return constant(.string(nil))
    }

    /// The variable an expression names, when it is a STRING variable (req.method, req.url …).
    private static func stringVariable(_ expression: Expression) -> VariableID? {
        guard case .name(let name) = expression, let variable = VariableID(rawValue: name.text),
              Variables.type(of: name.text) == .string else { return nil }
        return variable
    }

    /// A variable holding a number (INT, REAL, DURATION, BYTES, TIME): `obj.hits`, `beresp.ttl`.
    private static func numberVariable(_ expression: Expression) -> VariableID? {
        guard case .name(let name) = expression, let variable = VariableID(rawValue: name.text) else { return nil }
        switch Variables.type(of: name.text) {
        case .int, .real, .duration, .bytes, .time: return variable
        default: return nil
        }
    }

    /// A number written in the VCL (`0`, `1.5`, `0s`, `10KB`) as the Double comparisons use.
    private static func number(_ expression: Expression) -> Double? {
        guard case .literal(let literal, _) = expression else { return nil }
        switch literal {
        case .integer(let n): return Double(n)
        case .real(let x), .duration(let x): return x
        case .bytes(let n): return Double(n)
        case .string, .bool: return nil
        }
    }

    /// Whether `value` is `std.querysort(VARIABLE)`: `set req.url = std.querysort(req.url);`, found
    /// in most Varnish configurations and run on every request.
    private static func isQuerySort(of variable: VariableID, _ value: Expression) -> Bool {
        guard case .call(let function, let arguments, _) = value, function.text == "std.querysort",
              arguments.count == 1, case .name(let argument) = arguments[0] else { return false }
        return argument.text == variable.rawValue
    }

    static let stdNames = (StdFunction.allCases.map(\.rawValue) + ["ban"]).sorted().joined(separator: ", ")

    /// A std function's arguments in parameter order: named ones (`pathname = false`) put in
    /// their place, with the defaults of optional ones skipped before them.
    private mutating func stdArguments(_ function: StdFunction, _ arguments: [Expression],
                                       range: SourceRange) -> [ExpressionIndex] {
        guard let parameters = function.namedParameters,
              arguments.contains(where: { if case .named = $0 { true } else { false } }) else {
            return arguments.map { lower($0) }
        }
        var placed: [ExpressionIndex?] = Array(repeating: nil, count: parameters.count)
        for (position, argument) in arguments.enumerated() {
            guard case .named(let name, let value) = argument else {
                if position < placed.count { placed[position] = lower(argument) }
                continue
            }
            guard let index = parameters.firstIndex(where: { $0.name == name.text }) else {
                error("std.\(function.rawValue) has no parameter '\(name.text)'", at: name.range,
                      hint: "its parameters: " + parameters.map(\.name).joined(separator: ", "))
                continue
            }
            placed[index] = lower(value)
        }
        let last = placed.lastIndex { $0 != nil } ?? -1
        var ordered: [ExpressionIndex] = []
        for index in 0..<(last + 1) {
            if let argument = placed[index] {
                ordered.append(argument)
            } else if let defaultValue = parameters[index].defaultValue {
                ordered.append(add(constant(defaultValue)))
            } else {
                error("std.\(function.rawValue) needs its '\(parameters[index].name)' argument", at: range)
                return []
            }
        }
        return ordered
    }

    /// The compiled regex of a literal pattern (the checker has reported non-literal ones).
    private mutating func regex(_ expression: Expression) -> TableIndex? {
        guard case .literal(.string(let pattern), _) = expression else { return nil }
        if let cached = regexes[pattern] { return cached }
        guard let compiled = try? VCLRegex(pattern) else { return nil }
        let index = code.regex(compiled)
        regexes[pattern] = index
        return index
    }
}
