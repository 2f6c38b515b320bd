// Compiled: the executable form of VCL that the interpreter walks. Names are resolved to
// variables, headers, ACLs and directors, regexes are compiled, compound assignments expanded,
// so running a subroutine does no lookups by text and no parsing.

indirect enum CompiledExpression: Sendable {
    enum Operator: String, Sendable {
        case equal = "==", notEqual = "!=", less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="
        case plus = "+", minus = "-", times = "*", divide = "/"
    }

    case constant(VCLValue)
    case variable(VariableID)
    case header(HeaderScope, String)
    case regexMatch(CompiledExpression, VCLRegex, negated: Bool)
    case aclMatch(CompiledExpression, ACL, negated: Bool)
    case not(CompiledExpression)
    case and(CompiledExpression, CompiledExpression)
    case or(CompiledExpression, CompiledExpression)
    case binary(Operator, CompiledExpression, CompiledExpression)
    case negate(CompiledExpression)
    case regsub(CompiledExpression, VCLRegex, CompiledExpression, all: Bool)
    case lower(CompiledExpression)
    case upper(CompiledExpression)
    case std(StdFunction, [CompiledExpression])
    /// `ban(EXPR)` used as a value (std.ban returns whether it was accepted).
    case ban(CompiledExpression)
    /// xkey.purge / xkey.softpurge / shellac.purge_tags / shellac.softpurge_tags: the tags are the
    /// words of the value; evaluates to how many objects were affected.
    case purgeTags(CompiledExpression, soft: Bool)
    /// `d.backend()` / `d.backend(key)`.
    case directorBackend(String, CompiledExpression?)
}

enum StdFunction: String, Sendable {
    case healthy, querysort, collect, tolower, toupper, integer, real, duration, ip, time, log, syslog
    case banError = "ban_error", random, strstr, timestamp
}

struct CompiledBranch: Sendable {
    var condition: CompiledExpression
    var body: [CompiledStatement]
}

indirect enum CompiledStatement: Sendable {
    /// The variable's type is resolved when compiling: assignments convert to it.
    case setVariable(VariableID, VCLType, CompiledExpression)
    case setHeader(HeaderScope, String, CompiledExpression)
    case unsetHeader(HeaderScope, String)
    case conditional([CompiledBranch], otherwise: [CompiledStatement]?)
    case returnAction(String, [CompiledExpression])
    /// `return;` in a custom subroutine.
    case leave
    case call(String)
    case hashData(CompiledExpression)
    case synthetic(CompiledExpression)
    /// A function called for its effect (std.log, ban, …).
    case evaluate(CompiledExpression)
    case newDirector(String, Director.Kind)
    case addBackend(director: String, backend: CompiledExpression, weight: CompiledExpression?)
    case removeBackend(director: String, backend: CompiledExpression)
}
