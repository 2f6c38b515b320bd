// Interpreter: runs compiled statements against a VCLContext. Control flow is a small result
// value (go on, a return action, leave a custom subroutine); expressions evaluate to VCLValues
// with Varnish's conversions. Runtime problems (division by zero, a ban that does not parse)
// become a `fail` outcome rather than a crash.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ShellacHTTP

struct Interpreter {
    enum Flow {
        case next
        /// `return;` out of a custom subroutine.
        case left
        case returned(VCLOutcome)
    }

    struct Failure: Error {
        var reason: String
    }

    let program: VCLProgram
    /// The program's code, read through the program rather than kept as well: a reference of
    /// its own was one more retain and release on every subroutine run.
    var code: CompiledCode { program.code }

    init(program: VCLProgram) {
        self.program = program
    }

    func run<C: VCLContext>(_ block: StatementBlock, _ context: inout C) -> Flow {
        do {
            return try execute(block, &context)
        } catch let failure as Failure {
            return .returned(.failed(failure.reason))
        } catch {
            return .returned(.failed("\(error)"))
        }
    }

    private func execute<C: VCLContext>(_ block: StatementBlock, _ context: inout C) throws -> Flow {
        for index in block {
            let flow = try execute(statement: index, &context)
            if case .next = flow { continue }
            return flow
        }
        return .next
    }

    private func execute<C: VCLContext>(statement index: Int, _ context: inout C) throws -> Flow {
        switch code.statements[index] {
        case .setVariable(let variable, let type, let expression):
            let value = Self.convert(try evaluate(expression, &context), to: type)
            try Self.checkMessagePart(variable, value)
            context.write(variable, value)
        case .sortQuery(let variable):
            if !context.withString(variable, { StdLibrary.isSortedQuery($0 ?? "") }) {
                let sorted = context.withString(variable) { StdLibrary.sortingQuery($0 ?? "") }
                context.write(variable, .string(sorted))
            }
        case .setHeader(let scope, let name, let expression):
            let value = try evaluate(expression, &context).takeString()
            guard HTTPField.isValidValue(value) else {
                throw Failure(reason: "Bad header \(code.texts[name]): its value holds a control character")
            }
            try Self.checkLength(value, of: "header \(code.texts[name])")
            context.setHeader(scope, code.texts[name], nameBit: code.textNameBits[name], value)
        case .setConstantHeader(let scope, let field):
            context.setHeader(scope, code.constantFields[field])
        case .unsetHeader(let scope, let name):
            context.unsetHeader(scope, code.texts[name], nameBit: code.textNameBits[name])
        case .conditional(let branchRange, let otherwise):
            for branch in branchRange where try test(code.branches[branch].condition, &context) {
                return try execute(code.branches[branch].body, &context)
            }
            if let otherwise { return try execute(otherwise, &context) }
        case .block(let block):
            return try execute(block, &context)
        case .returnAction(let action, let arguments):
            let name = code.texts[action]
            let expressions = code.lists[arguments]
            if name == "fail" {
                guard let reason = expressions.first else { return .returned(.failed("return(fail)")) }
                return .returned(.failed(try evaluate(reason, &context).string))
            }
            if expressions.isEmpty { return .returned(.action(name, [])) }
            let arguments = try expressions.map { try evaluate($0, &context) }
            // synth(status, reason) and error(status, reason): the reason goes on a status line.
            if arguments.count > 1, case .string(let reason?) = arguments[1], !HTTPField.isValidValue(reason) {
                throw Failure(reason: "Bad reason in return(\(name)): it holds a control character")
            }
            return .returned(.action(name, arguments))
        case .leave:
            return .left
        case .call:
            break  // a subroutine that does not exist (the checker reports it)
        case .callBlock(let block):
            let flow = try execute(block, &context)
            if case .returned = flow { return flow }
        case .hashData(let expression):
            context.hashData(try evaluate(expression, &context).takeString())
        case .synthetic(let expression):
            context.synthetic(try evaluate(expression, &context).takeString())
        case .evaluate(let expression):
            _ = try evaluate(expression, &context)
        case .newDirector:
            break  // the director exists from load; vcl_init fills it
        case .addBackend(let director, let backend, let weight):
            guard case .backend(let name?) = try evaluate(backend, &context, resolvingDirectors: false) else {
                throw Failure(reason: "\(code.texts[director]).add_backend() needs a backend")
            }
            let weight = try weight.map { try evaluate($0, &context).number ?? 1 } ?? 1
            program.directors[code.texts[director]]?.add(name, weight: weight)
        case .removeBackend(let director, let backend):
            if case .backend(let name?) = try evaluate(backend, &context, resolvingDirectors: false) {
                program.directors[code.texts[director]]?.remove(name)
            }
        }
        return .next
    }

    /// What VCL writes into a request or status line must keep it one line of the right shape:
    /// a method is a token, a URL has no space or control character, a reason no control
    /// character. Anything else fails the subroutine rather than reach a backend or a client.
    static func checkMessagePart(_ variable: VariableID, _ value: VCLValue) throws {
        switch variable {
        case .reqMethod, .bereqMethod:
            guard case .string(let text?) = value, HTTPField.isToken(text) else {
                throw Failure(reason: "Bad \(variable.rawValue): not a method")
            }
            try checkLength(text, of: variable.rawValue)
        case .reqURL, .bereqURL:
            guard case .string(let text?) = value, HTTPField.isValidTarget(text) else {
                throw Failure(reason: "Bad \(variable.rawValue): a URL cannot hold a space or a control character")
            }
            try checkLength(text, of: variable.rawValue)
        case .respReason, .berespReason:
            let text = value.string
            guard HTTPField.isValidValue(text) else {
                throw Failure(reason: "Bad \(variable.rawValue): it holds a control character")
            }
            try checkLength(text, of: variable.rawValue)
        default:
            break
        }
    }

    /// A value stored into a variable takes the variable's type (a STRING variable prints it).
    static func convert(_ value: VCLValue, to type: VCLType) -> VCLValue {
        switch type {
        case .string:
            if case .string = value { return value }
            return .string(value.string)
        case .real:
            if case .int(let n) = value { return .real(Double(n)) }
            return value
        default:
            return value
        }
    }

    // MARK: expressions

    func evaluate<C: VCLContext>(_ index: ExpressionIndex, _ context: inout C,
                                 resolvingDirectors: Bool = true) throws -> VCLValue {
        switch code.expressions[index] {
        case .constant(let constant):
            return code.constants[constant]
        case .variable(let variable):
            return context.read(variable)
        case .header(let scope, let name):
            return .string(context.header(scope, code.texts[name], nameBit: code.textNameBits[name]))
        case .equalsString, .regexMatch, .variableEqualsString, .variableMatch, .variableCompare, .aclMatch, .not,
             .and, .or:
            return .bool(try test(index, &context))
        case .binary(let op, let lhs, let rhs):
            return try Self.apply(op, try evaluate(lhs, &context), try evaluate(rhs, &context))
        case .negate(let operand):
            switch try evaluate(operand, &context) {
            case .int(let n): return .int(-n)
            case .real(let x): return .real(-x)
            case .duration(let d): return .duration(-d)
            case let other: return other
            }
        case .regsub(let subject, let regex, let replacement, let all):
            let text = try evaluate(subject, &context).takeString()
            let with = try evaluate(replacement, &context).takeString()
            do {
                return .string(try code.regexes[regex].substitute(in: text, with: with, all: all,
                                                                  longest: VCLLimits.valueMax))
            } catch {
                throw Failure(reason: error.message)
            }
        case .lower(let operand):
            return .string(try evaluate(operand, &context).optionalString?.asciiLowercased())
        case .upper(let operand):
            return .string(try evaluate(operand, &context).optionalString?.asciiUppercased())
        case .std(let function, let arguments):
            return try callStd(function, code.lists[arguments], &context)
        case .cookie(let function, let arguments, let regex):
            return try callCookie(function, code.lists[arguments], regex: regex, &context)
        case .ban(let operand):
            let text = try evaluate(operand, &context).string
            if let problem = context.ban(text) {
                context.banError = problem
                context.log("ban(): \(problem)")
                return .bool(false)
            }
            context.banError = ""
            return .bool(true)
        case .purgeTags(let operand, let soft):
            let tags = try evaluate(operand, &context).string.split(whereSeparator: { $0 == " " || $0 == "," })
            return .int(context.purgeTags(tags.map(String.init), soft: soft))
        case .directorBackend(let nameIndex, let key):
            let name = code.texts[nameIndex]
            // As in Varnish, `d.backend()` is the director itself, picked from when the fetch
            // starts (VCLProgram.resolve: a retry asks again); only the hash director picks now,
            // by the key it is given.
            guard resolvingDirectors, let director = program.directors[name], director.kind == .hash else {
                return .backend(name)
            }
            let keyText = try key.map { try evaluate($0, &context).string }
            return .backend(Self.pick(director, key: keyText, context: context, directors: program.directors))
        }
    }

    /// A value VCL puts into a message is at most VCLLimits.valueMax bytes, or the subroutine fails.
    /// `what` is only spelled out when the check fails: built on every set, the header's
    /// description cost more than the rest of the statement.
    static func checkLength(_ text: String, of what: @autoclosure () -> String) throws {
        guard text.utf8.count <= VCLLimits.valueMax else {
            throw Failure(reason: "Bad \(what()): longer than vcl_value_max (\(VCLLimits.valueMax) bytes)")
        }
    }

    /// A match's answer; one PCRE2 gave up on fails the subroutine, as in Varnish.
    @inline(__always)
    static func answer(_ rc: Int32) throws -> Bool {
        do {
            return try VCLRegex.answer(rc)
        } catch {
            throw Failure(reason: error.message)
        }
    }

    /// A condition's truth. Comparisons, matches and the logical operators answer here without
    /// building a value for every node; anything else is evaluated and tested as VCL does.
    func test<C: VCLContext>(_ index: ExpressionIndex, _ context: inout C) throws -> Bool {
        switch code.expressions[index] {
        case .equalsString(let operand, let text, let negated):
            let value = try evaluate(operand, &context)
            switch consume value {
            case .string(let string): return Self.sameText(string, code.texts[text]) != negated
            case let value: return Self.equal(value, .string(code.texts[text])) != negated
            }
        case .regexMatch(let subject, let regex, let negated):
            let text = try evaluate(subject, &context).takeString()
            let rc = code.unretainedRegexes[regex]._withUnsafeGuaranteedRef { $0.outcome(text) }
            return try Self.answer(rc) != negated
        case .variableEqualsString(let variable, let text, let negated):
            let expected = code.texts[text]
            return context.withString(variable) { Self.sameText($0, expected) } != negated
        case .variableMatch(let variable, let regex, let negated):
            let compiled = code.unretainedRegexes[regex]
            let rc = context.withString(variable) { text in
                compiled._withUnsafeGuaranteedRef { regex in
                    if let text { regex.outcome(borrowing: text) } else { regex.outcome("") }
                }
            }
            return try Self.answer(rc) != negated
        case .variableCompare(let variable, let op, let number):
            return Self.compare(op, context.read(variable), number)
        case .aclMatch(let subject, let acl, let negated):
            let address = try evaluate(subject, &context).string
            return code.acls[acl].matches(address) != negated
        case .not(let operand):
            return !(try test(operand, &context))
        case .and(let lhs, let rhs):
            return try test(lhs, &context) && test(rhs, &context)
        case .or(let lhs, let rhs):
            return try test(lhs, &context) || test(rhs, &context)
        case .header(let scope, let name):
            return context.hasHeader(scope, code.texts[name], nameBit: code.textNameBits[name])
        case .binary(let op, let lhs, let rhs) where op.isComparison:
            return try Self.compare(op, evaluate(lhs, &context), evaluate(rhs, &context))
        default:
            return try evaluate(index, &context).isTrue
        }
    }

    /// Kept out of `evaluate` so no closure there captures the context (that would copy it on
    /// every evaluation).
    static func pick<C: VCLContext>(_ director: Director, key: String?, context: C,
                                    directors: [String: Director]) -> String? {
        director.pick(key: key, health: context, directors: directors)
    }

    static func apply(_ op: CompiledExpression.Operator, _ lhs: VCLValue, _ rhs: VCLValue) throws -> VCLValue {
        if op.isComparison { return .bool(compare(op, lhs, rhs)) }
        if op == .plus {
            if case .string = lhs { return .string(joined(lhs.string, rhs.string)) }
            if case .string = rhs { return .string(joined(lhs.string, rhs.string)) }
        }
        return try arithmetic(op, lhs, rhs)
    }

    /// `first + second` as one exactly-sized String: `+` tries to fit the result in a small
    /// string first and grows the left side (about a thousand instructions for `";" + cookies`).
    static func joined(_ first: String, _ second: String) -> String {
        let firstCount = first.utf8.count
        let count = firstCount + second.utf8.count
        guard count > 15 else { return first + second }  // a small string: no allocation either way
        return String(unsafeUninitializedCapacity: count) { buffer in
            _ = first.copyUTF8(into: buffer, at: 0)
            return firstCount + second.copyUTF8(into: buffer, at: firstCount)
        }
    }

    /// A comparison operator applied (numbers compare as numbers; nothing else is ordered).
    static func compare(_ op: CompiledExpression.Operator, _ lhs: VCLValue, _ rhs: VCLValue) -> Bool {
        switch op {
        case .equal: return equal(lhs, rhs)
        case .notEqual: return !equal(lhs, rhs)
        default:
            guard let a = lhs.number, let b = rhs.number else { return false }
            return order(op, a, b)
        }
    }

    /// An ordering operator (< > <= >=) applied to two numbers.
    private static func order(_ op: CompiledExpression.Operator, _ a: Double, _ b: Double) -> Bool {
        switch op {
        case .less: return a < b
        case .greater: return a > b
        case .lessOrEqual: return a <= b
        default: return a >= b
        }
    }

    /// A number variable's value compared with a number (an unset or non-numeric value is
    /// equal to none and ordered against none, as `compare` treats it).
    static func compare(_ op: CompiledExpression.Operator, _ lhs: VCLValue, _ number: Double) -> Bool {
        guard let value = lhs.number else { return op == .notEqual }
        switch op {
        case .equal: return value == number
        case .notEqual: return value != number
        default: return order(op, value, number)
        }
    }

    static func equal(_ lhs: VCLValue, _ rhs: VCLValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return sameText(a, b)
        case (.backend(let a), .backend(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.ip(let a, _), .ip(let b, _)): return IPAddress.parse(a) == IPAddress.parse(b)
        default:
            if let a = lhs.number, let b = rhs.number { return a == b }
            return lhs.string == rhs.string
        }
    }

    /// Whether two strings are the same bytes, as Varnish compares them (strcmp: no Unicode
    /// equivalence). Different texts, `req.method == "PURGE"` on most requests, are told apart by
    /// the library's comparison, the cheapest; only texts it finds equal have their bytes compared.
    /// Two unset strings are equal.
    static func sameText(_ a: String?, _ b: String?) -> Bool {
        guard a == b else { return false }
        guard let a, let b else { return true }
        let count = a.utf8.count
        guard count == b.utf8.count else { return false }
        if count == 0 { return true }
        return a.withUTF8Bytes { x in b.withUTF8Bytes { y in memcmp(x.baseAddress!, y.baseAddress!, count) == 0 } }
    }

    static func arithmetic(_ op: CompiledExpression.Operator, _ lhs: VCLValue, _ rhs: VCLValue) throws -> VCLValue {
        if case .int(let a) = lhs, case .int(let b) = rhs {
            switch op {
            case .plus: return .int(a &+ b)
            case .minus: return .int(a &- b)
            case .times: return .int(a &* b)
            default:
                guard b != 0 else { throw Failure(reason: "division by zero") }
                return .int(a / b)
            }
        }
        guard let a = lhs.number, let b = rhs.number else {
            throw Failure(reason: "'\(op.rawValue)' on \(lhs) and \(rhs)")
        }
        let result: Double
        switch op {
        case .plus: result = a + b
        case .minus: result = a - b
        case .times: result = a * b
        default:
            guard b != 0 else { throw Failure(reason: "division by zero") }
            result = a / b
        }
        switch (lhs, rhs) {
        case (.time, .time): return .duration(result)
        case (.time, _): return .time(result)
        case (.duration, _), (_, .duration): return .duration(result)
        case (.bytes, _): return .bytes(Int(result))
        default: return .real(result)
        }
    }
}

extension String {
    func trimmingOWSString() -> String {
        String(self[...].trimmingOWS())
    }
}
