// Compiled: the executable form of VCL that the interpreter walks. Names are resolved to
// variables, headers, ACLs and directors, regexes are compiled, compound assignments expanded,
// so running a subroutine does no lookups by text and no parsing. The code is flat: expressions,
// statements and branches live in three tables and refer to each other by index, so walking it
// copies small values instead of retaining boxed subtrees.

/// An expression's position in `CompiledCode.expressions`.
typealias ExpressionIndex = Int
/// A run of consecutive statements in `CompiledCode.statements` (a subroutine or branch body).
typealias StatementBlock = Range<Int>

enum CompiledExpression: Sendable {
    enum Operator: String, Sendable {
        case equal = "==", notEqual = "!=", less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="
        case plus = "+", minus = "-", times = "*", divide = "/"
    }

    case constant(VCLValue)
    case variable(VariableID)
    case header(HeaderScope, String)
    /// `EXPR == "text"` / `EXPR != "text"`: the common comparison, without evaluating the literal.
    case equalsString(ExpressionIndex, String, negated: Bool)
    case regexMatch(ExpressionIndex, VCLRegex, negated: Bool)
    case aclMatch(ExpressionIndex, ACL, negated: Bool)
    case not(ExpressionIndex)
    case and(ExpressionIndex, ExpressionIndex)
    case or(ExpressionIndex, ExpressionIndex)
    case binary(Operator, ExpressionIndex, ExpressionIndex)
    case negate(ExpressionIndex)
    case regsub(ExpressionIndex, VCLRegex, ExpressionIndex, all: Bool)
    case lower(ExpressionIndex)
    case upper(ExpressionIndex)
    case std(StdFunction, [ExpressionIndex])
    /// `ban(EXPR)` used as a value (std.ban returns whether it was accepted).
    case ban(ExpressionIndex)
    /// xkey.purge / xkey.softpurge / shellac.purge_tags / shellac.softpurge_tags: the tags are the
    /// words of the value; evaluates to how many objects were affected.
    case purgeTags(ExpressionIndex, soft: Bool)
    /// `d.backend()` / `d.backend(key)`.
    case directorBackend(String, ExpressionIndex?)
}

enum StdFunction: String, Sendable {
    case healthy, querysort, collect, tolower, toupper, integer, real, duration, ip, time, log, syslog
    case banError = "ban_error", random, strstr, timestamp
}

struct CompiledBranch: Sendable {
    var condition: ExpressionIndex
    var body: StatementBlock
}

enum CompiledStatement: Sendable {
    /// The variable's type is resolved when compiling: assignments convert to it.
    case setVariable(VariableID, VCLType, ExpressionIndex)
    case setHeader(HeaderScope, String, ExpressionIndex)
    case unsetHeader(HeaderScope, String)
    /// `if / elseif / else`: the branches are a range of `CompiledCode.branches`.
    case conditional(branches: Range<Int>, otherwise: StatementBlock?)
    /// A bare `{ … }` block.
    case block(StatementBlock)
    case returnAction(String, [ExpressionIndex])
    /// `return;` in a custom subroutine.
    case leave
    /// `call NAME`, resolved to the subroutine's statements once every subroutine is lowered.
    case call(String)
    case callBlock(StatementBlock)
    case hashData(ExpressionIndex)
    case synthetic(ExpressionIndex)
    /// A function called for its effect (std.log, ban, …).
    case evaluate(ExpressionIndex)
    case newDirector(String, Director.Kind)
    case addBackend(director: String, backend: ExpressionIndex, weight: ExpressionIndex?)
    case removeBackend(director: String, backend: ExpressionIndex)
}

/// The tables every index points into; built by Lowering, read-only once the program is loaded.
struct CompiledCode: Sendable {
    var expressions: ContiguousArray<CompiledExpression> = []
    var statements: ContiguousArray<CompiledStatement> = []
    var branches: ContiguousArray<CompiledBranch> = []

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

    /// Replaces every `call NAME` with the statements of the subroutine it names.
    mutating func resolveCalls(_ subroutines: [String: StatementBlock]) {
        for index in statements.indices {
            if case .call(let name) = statements[index], let block = subroutines[name] {
                statements[index] = .callBlock(block)
            }
        }
    }
}
