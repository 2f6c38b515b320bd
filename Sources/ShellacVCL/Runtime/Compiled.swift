// Compiled: the executable form of VCL that the interpreter walks. Names are resolved to
// variables, headers, ACLs and directors, regexes are compiled, compound assignments expanded,
// so running a subroutine does no lookups by text and no parsing. The code is flat: expressions,
// statements and branches live in tables and refer to each other by index, and what is not a
// plain number (texts, constants, regexes, ACLs, argument lists) sits in side tables, so every
// node is a small trivial value: walking the code copies a few words and retains nothing.

import ShellacHTTP

/// An expression's position in `CompiledCode.expressions`.
typealias ExpressionIndex = Int
/// A run of consecutive statements in `CompiledCode.statements` (a subroutine or branch body).
typealias StatementBlock = Range<Int>
/// A position in `CompiledCode.texts`, `constants`, `regexes`, `acls` or `lists`.
typealias TableIndex = Int

enum CompiledExpression: Sendable {
    enum Operator: String, Sendable {
        case equal = "==", notEqual = "!=", less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="
        case plus = "+", minus = "-", times = "*", divide = "/"

        /// == != < > <= >=: the result is a BOOL.
        var isComparison: Bool {
            switch self {
            case .equal, .notEqual, .less, .greater, .lessOrEqual, .greaterOrEqual: return true
            case .plus, .minus, .times, .divide: return false
            }
        }
    }

    case constant(TableIndex)
    case variable(VariableID)
    case header(HeaderScope, name: TableIndex)
    /// `EXPR == "text"` / `EXPR != "text"`: the common comparison, without evaluating the literal.
    case equalsString(ExpressionIndex, text: TableIndex, negated: Bool)
    case regexMatch(ExpressionIndex, regex: TableIndex, negated: Bool)
    /// The same two with a STRING variable on the left (`req.method == "PURGE"`, `req.url ~ …`):
    /// the variable's text is looked at where it is kept, with no value made for it.
    case variableEqualsString(VariableID, text: TableIndex, negated: Bool)
    case variableMatch(VariableID, regex: TableIndex, negated: Bool)
    /// A number variable compared with a number written in the VCL (`obj.hits > 0`,
    /// `beresp.ttl <= 0s`): the variable is read and compared, with no value made for the literal.
    case variableCompare(VariableID, Operator, number: Double)
    case aclMatch(ExpressionIndex, acl: TableIndex, negated: Bool)
    case not(ExpressionIndex)
    case and(ExpressionIndex, ExpressionIndex)
    case or(ExpressionIndex, ExpressionIndex)
    case binary(Operator, ExpressionIndex, ExpressionIndex)
    case negate(ExpressionIndex)
    case regsub(ExpressionIndex, regex: TableIndex, ExpressionIndex, all: Bool)
    case lower(ExpressionIndex)
    case upper(ExpressionIndex)
    case std(StdFunction, arguments: TableIndex)
    /// A vmod_cookie function; `regex` is the compiled pattern of the *_re ones.
    case cookie(CookieFunction, arguments: TableIndex, regex: TableIndex?)
    /// `ban(EXPR)` used as a value (std.ban returns whether it was accepted).
    case ban(ExpressionIndex)
    /// xkey.purge / xkey.softpurge / shellac.purge_tags / shellac.softpurge_tags: the tags are the
    /// words of the value; evaluates to how many objects were affected.
    case purgeTags(ExpressionIndex, soft: Bool)
    /// `d.backend()` / `d.backend(key)`.
    case directorBackend(name: TableIndex, key: ExpressionIndex?)
}

enum CookieFunction: String, Sendable {
    case clean, parse, set, delete, filter, keep, get, isset
    case filterRe = "filter_re", keepRe = "keep_re", getRe = "get_re", getString = "get_string"
    case formatRFC1123 = "format_rfc1123"
}

enum StdFunction: String, Sendable, CaseIterable {
    case healthy, querysort, collect, tolower, toupper, integer, real, duration, ip, time, log, syslog
    case banError = "ban_error", random, strstr, timestamp
    case bytes, round, real2integer, real2time, time2integer, time2real, strftime, fnmatch
    case port, fileread, fileExists = "file_exists", getenv, rollback

    /// The parameters of the functions that take named arguments, with the default of each
    /// optional one, as vmod_std declares them.
    var namedParameters: [(name: String, defaultValue: VCLValue?)]? {
        switch self {
        case .ip: [("s", nil), ("fallback", nil), ("resolve", .bool(true)), ("p", .string("80"))]
        case .fnmatch: [("pattern", nil), ("subject", nil), ("pathname", .bool(true)), ("noescape", .bool(false)),
                        ("period", .bool(false))]
        case .collect: [("hdr", nil), ("sep", .string(", "))]
        default: nil
        }
    }
}

/// A header field whose value is known when the VCL is compiled (`set resp.http.X-Cache = "HIT";`),
/// with the line a message head carries it as, made once rather than on every request. A class:
/// handing one to the context retains it once, not each of its three strings.
public final class ConstantField: Sendable {
    public let name: String
    public let nameBit: UInt64
    public let value: String
    /// "name: value" CRLF, or nil when the value holds a line break (it cannot be one line).
    public let line: String?

    init(name: String, value: String) {
        self.name = name
        nameBit = HTTPField.nameBit(name)
        self.value = value
        line = HTTPField.line(name: name, value: value)
    }
}

struct CompiledBranch: Sendable {
    var condition: ExpressionIndex
    var body: StatementBlock
}

enum CompiledStatement: Sendable {
    /// The variable's type is resolved when compiling: assignments convert to it.
    case setVariable(VariableID, VCLType, ExpressionIndex)
    /// `set VARIABLE = std.querysort(VARIABLE);` for a STRING variable: written only when its query
    /// is not sorted already (the common case asks one look at the text, and makes nothing).
    case sortQuery(VariableID)
    case setHeader(HeaderScope, name: TableIndex, ExpressionIndex)
    /// `set X.http.NAME = "text";`: a position in `CompiledCode.constantFields`.
    case setConstantHeader(HeaderScope, field: TableIndex)
    case unsetHeader(HeaderScope, name: TableIndex)
    /// `if / elseif / else`: the branches are a range of `CompiledCode.branches`.
    case conditional(branches: Range<Int>, otherwise: StatementBlock?)
    /// A bare `{ … }` block.
    case block(StatementBlock)
    case returnAction(name: TableIndex, arguments: TableIndex)
    /// `return;` in a custom subroutine.
    case leave
    /// `call NAME`, resolved to the subroutine's statements once every subroutine is lowered.
    case call(name: TableIndex)
    case callBlock(StatementBlock)
    case hashData(ExpressionIndex)
    case synthetic(ExpressionIndex)
    /// A function called for its effect (std.log, ban, …).
    case evaluate(ExpressionIndex)
    case newDirector(name: TableIndex, Director.Kind)
    case addBackend(director: TableIndex, backend: ExpressionIndex, weight: ExpressionIndex?)
    case removeBackend(director: TableIndex, backend: ExpressionIndex)
}

/// The tables every index points into. Built by Lowering; read-only once the program is loaded
/// (a class, so the interpreter holds one reference rather than copies of every table).
final class CompiledCode: Sendable {
    let expressions: ContiguousArray<CompiledExpression>
    let statements: ContiguousArray<CompiledStatement>
    let branches: ContiguousArray<CompiledBranch>
    let texts: ContiguousArray<String>
    /// `HTTPField.nameBit` of each text, for the texts that name headers.
    let textNameBits: ContiguousArray<UInt64>
    let constants: ContiguousArray<VCLValue>
    let regexes: ContiguousArray<VCLRegex>
    /// The same regexes, unretained (`regexes` keeps them): a match borrows one rather than
    /// retaining and releasing it around every call.
    let unretainedRegexes: ContiguousArray<Unmanaged<VCLRegex>>
    let acls: ContiguousArray<ACL>
    let lists: ContiguousArray<[ExpressionIndex]>
    let constantFields: ContiguousArray<ConstantField>

    init(_ builder: Builder) {
        expressions = builder.expressions
        statements = builder.statements
        branches = builder.branches
        texts = builder.texts
        textNameBits = ContiguousArray(builder.texts.map { HTTPField.nameBit($0) })
        constants = builder.constants
        regexes = builder.regexes
        unretainedRegexes = ContiguousArray(builder.regexes.map { Unmanaged.passUnretained($0) })
        acls = builder.acls
        lists = builder.lists
        constantFields = builder.constantFields
    }

    /// The tables while Lowering fills them.
    struct Builder {
        var expressions: ContiguousArray<CompiledExpression> = []
        var statements: ContiguousArray<CompiledStatement> = []
        var branches: ContiguousArray<CompiledBranch> = []
        var texts: ContiguousArray<String> = []
        var constants: ContiguousArray<VCLValue> = []
        var regexes: ContiguousArray<VCLRegex> = []
        var acls: ContiguousArray<ACL> = []
        var lists: ContiguousArray<[ExpressionIndex]> = []
        var constantFields: ContiguousArray<ConstantField> = []
        private var textIndex: [String: TableIndex] = [:]

        mutating func add(_ expression: CompiledExpression) -> ExpressionIndex {
            expressions.append(expression)
            return expressions.count - 1
        }

        /// Appends statements as one block; nested blocks were appended while lowering them.
        mutating func add(_ block: [CompiledStatement]) -> StatementBlock {
            let start = statements.count
            statements.append(contentsOf: block)
            return start..<statements.count
        }

        mutating func text(_ text: String) -> TableIndex {
            if let index = textIndex[text] { return index }
            texts.append(text)
            textIndex[text] = texts.count - 1
            return texts.count - 1
        }

        mutating func constant(_ value: VCLValue) -> TableIndex {
            constants.append(value)
            return constants.count - 1
        }

        mutating func regex(_ regex: VCLRegex) -> TableIndex {
            regexes.append(regex)
            return regexes.count - 1
        }

        mutating func acl(_ acl: ACL) -> TableIndex {
            acls.append(acl)
            return acls.count - 1
        }

        mutating func constantField(_ field: ConstantField) -> TableIndex {
            constantFields.append(field)
            return constantFields.count - 1
        }

        mutating func list(_ list: [ExpressionIndex]) -> TableIndex {
            lists.append(list)
            return lists.count - 1
        }

        /// Replaces every `call NAME` with the statements of the subroutine it names.
        mutating func resolveCalls(_ subroutines: [String: StatementBlock]) {
            for index in statements.indices {
                if case .call(let name) = statements[index], let block = subroutines[texts[name]] {
                    statements[index] = .callBlock(block)
                }
            }
        }
    }
}
