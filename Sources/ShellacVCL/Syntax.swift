// Syntax: the VCL syntax tree. Plain values; every node carries the source range it came from,
// so the checker can point at it. The parser builds it; nothing here interprets it.

public struct Name: Sendable, Equatable {
    public var text: String
    public var range: SourceRange
}

public struct VCLSource: Sendable {
    /// `vcl 4.0;` / `vcl 4.1;` (nil when absent, as included files may be).
    public var version: Name?
    public var declarations: [Declaration]
}

public enum Declaration: Sendable {
    case include(path: String, range: SourceRange)
    case importModule(Name)
    /// `backend NAME { .host = …; … }`, or `backend NAME none;` (properties nil).
    case backend(Name, properties: [Property]?)
    case probe(Name, properties: [Property])
    case acl(Name, entries: [ACLEntry])
    case subroutine(Name, body: Block)
}

/// `.name = value;` in backend and probe declarations; a probe may be declared inline.
public struct Property: Sendable {
    public enum Value: Sendable {
        case expression(Expression)
        case probe([Property])
        /// `.request = "GET / HTTP/1.1" "Host: x";` — consecutive strings.
        case strings([String])
    }

    public var name: Name
    public var value: Value
}

public struct ACLEntry: Sendable, Equatable {
    public var negated: Bool
    /// An address, or a host name looked up when the VCL loads.
    public var address: String
    public var maskBits: Int?
    /// Written in parentheses, `( "name" );`: a name that does not resolve is skipped with a
    /// warning instead of failing the load.
    public var optional: Bool = false
    public var range: SourceRange
}

public struct Block: Sendable {
    public var statements: [Statement]
    public var range: SourceRange
}

public indirect enum Statement: Sendable {
    /// `set VAR = EXPR;` and the compound forms (`+=` …): `op` is the symbol as written.
    case set(target: Name, op: String, value: Expression, range: SourceRange)
    case unset(Name, range: SourceRange)
    /// `if (…) {…} elsif (…) {…} else {…}`.
    case conditional(branches: [(condition: Expression, body: Block)], otherwise: Block?, range: SourceRange)
    /// `return;` (action nil) or `return(ACTION)` / `return(ACTION(ARGS))`.
    case returnAction(action: Name?, arguments: [Expression], range: SourceRange)
    case call(Name, range: SourceRange)
    /// `new NAME = module.constructor(…);` (vcl_init).
    case new(name: Name, constructor: Expression, range: SourceRange)
    /// A function called for its effect: `hash_data(…)`, `synthetic(…)`, `std.log(…)`, `ban(…)`.
    case expression(Expression, range: SourceRange)
    case block(Block)
}

public indirect enum Expression: Sendable {
    public enum Literal: Sendable, Equatable {
        case string(String)
        case integer(Int)
        case real(Double)
        /// Seconds.
        case duration(Double)
        case bytes(Int)
        case bool(Bool)
    }

    case literal(Literal, SourceRange)
    /// A variable, backend, ACL, probe or object name: `req.http.Host`, `default`, `purgers`.
    case name(Name)
    /// `f(args)`, `std.tolower(x)`, `vdir.backend()`.
    case call(function: Name, arguments: [Expression], range: SourceRange)
    /// `EXPR.lower()` / `EXPR.upper()` applied to a value.
    case method(target: Expression, method: Name, arguments: [Expression], range: SourceRange)
    case unary(op: String, operand: Expression, range: SourceRange)
    case binary(op: String, lhs: Expression, rhs: Expression, range: SourceRange)
    /// A named argument, `pathname = false` in `std.fnmatch(p, s, pathname = false)`.
    case named(Name, Expression)

    public var range: SourceRange {
        switch self {
        case .literal(_, let range), .call(_, _, let range), .method(_, _, _, let range), .unary(_, _, let range),
             .binary(_, _, _, let range):
            return range
        case .name(let name):
            return name.range
        case .named(let name, let value):
            return name.range.to(value.range)
        }
    }
}
