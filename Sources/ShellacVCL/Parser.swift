// Parser: tokens into the syntax tree. Recursive descent; on an error it records a diagnostic
// and resynchronises at the next statement or declaration, so one run reports every syntax
// error in a file. Constructs from Varnish 2/3 get their VCL 4 spelling as a hint.

public struct Parser {
    private var tokens: [Token]
    private var index = 0
    public private(set) var diagnostics: [Diagnostic] = []

    /// How deep expressions, negations and blocks may nest, and how many operators one chain of
    /// them may hold. Every later pass (checking, lowering, running) walks the tree recursively:
    /// a file nested a hundred thousand deep overflowed the stack, and a reload would have taken
    /// the running daemon down with it. Real VCL stays far below both.
    static let maxNesting = 100
    static let maxChain = 500
    private var nesting = 0

    /// Counts one more level; `defer { nesting -= 1 }` goes before the call.
    private mutating func checkNesting() throws(SyntaxError) {
        guard nesting <= Self.maxNesting else {
            throw fail("nested more than \(Self.maxNesting) deep", hint: "split it into smaller parts")
        }
    }

    /// Parses a whole file; the diagnostics include the lexer's.
    public static func parse(_ file: SourceFile, fileID: Int = 0) -> (source: VCLSource, diagnostics: [Diagnostic]) {
        let (tokens, lexical) = Lexer.tokenize(file, fileID: fileID)
        var parser = Parser(tokens: tokens)
        parser.diagnostics = lexical
        let source = parser.parseFile()
        return (source, parser.diagnostics)
    }

    init(tokens: [Token]) {
        self.tokens = tokens
    }

    // MARK: tokens

    private var current: Token { tokens[index] }
    private var next: Token { tokens[min(index + 1, tokens.count - 1)] }

    @discardableResult
    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private mutating func accept(_ symbol: String) -> Bool {
        guard current.isSymbol(symbol) else { return false }
        advance()
        return true
    }

    /// Unwinds to the nearest recovery point; the diagnostic is already recorded.
    struct SyntaxError: Error {}

    private mutating func fail(_ message: String, at range: SourceRange? = nil, hint: String? = nil) -> SyntaxError {
        diagnostics.append(Diagnostic(.error, message, at: range ?? current.range, hint: hint))
        return SyntaxError()
    }

    private static func describe(_ token: Token) -> String {
        switch token.kind {
        case .end: return "end of file"
        case .string: return "string \"\(token.text)\""
        default: return "'\(token.text)'"
        }
    }

    private mutating func expect(_ symbol: String, _ context: String) throws(SyntaxError) {
        guard accept(symbol) else {
            // A missing ';' is reported where it belongs: right after the previous token, which is
            // usually on the line before the token that gave it away.
            let at: SourceRange? = if symbol == ";", index > 0 {
                SourceRange(tokens[index - 1].range.end, tokens[index - 1].range.end + 1,
                            file: tokens[index - 1].range.file)
            } else {
                nil
            }
            throw fail("expected '\(symbol)' \(context), found \(Self.describe(current))", at: at)
        }
    }

    private mutating func expectName(_ what: String) throws(SyntaxError) -> Name {
        guard current.kind == .identifier else { throw fail("expected \(what), found \(Self.describe(current))") }
        let token = advance()
        return Name(text: token.text, range: token.range)
    }

    /// Skips to just after the next ';' or after a block skipped whole (a broken `if (…` and its
    /// body), or to the '}' that closes the current nesting level.
    private mutating func synchronizeStatement() {
        var depth = 0
        while current.kind != .end {
            if current.isSymbol("{") { depth += 1 }
            if current.isSymbol("}") {
                if depth == 0 { return }
                depth -= 1
                if depth == 0 {
                    advance()
                    return
                }
            }
            if current.isSymbol(";") && depth == 0 {
                advance()
                return
            }
            advance()
        }
    }

    /// Skips to the next top-level declaration keyword.
    private mutating func synchronizeDeclaration() {
        var depth = 0
        while current.kind != .end {
            if current.isSymbol("{") { depth += 1 }
            if current.isSymbol("}") {
                depth -= 1
                advance()
                if depth <= 0 { return }
                continue
            }
            if depth == 0, current.kind == .identifier,
               ["sub", "backend", "probe", "acl", "import", "include", "vcl"].contains(current.text) {
                return
            }
            advance()
        }
    }

    // MARK: declarations

    mutating func parseFile() -> VCLSource {
        var version: Name?
        if current.isIdentifier("vcl") {
            let start = advance().range
            if current.kind == .real || current.kind == .integer {
                let token = advance()
                version = Name(text: token.text, range: token.range)
                if !["4.0", "4.1"].contains(token.text) {
                    diagnostics.append(Diagnostic(.error, "VCL version \(token.text) is not supported", at: token.range,
                                                  hint: "write `vcl 4.0;` or `vcl 4.1;`"))
                }
            } else {
                diagnostics.append(Diagnostic(.error, "expected a version after 'vcl'", at: start))
            }
            if !accept(";") {
                diagnostics.append(Diagnostic(.error, "expected ';' after the VCL version", at: current.range))
            }
        }
        var declarations: [Declaration] = []
        while current.kind != .end {
            let before = index
            do {
                if let declaration = try parseDeclaration() { declarations.append(declaration) }
            } catch {
                synchronizeDeclaration()
                // Recovery must always move on, or a stray keyword would be reported forever.
                if index == before { advance() }
            }
        }
        return VCLSource(version: version, declarations: declarations)
    }

    private static let expectedDeclaration = "expected a declaration (sub, backend, probe, acl, import, include)"

    private mutating func parseDeclaration() throws(SyntaxError) -> Declaration? {
        let keyword = current
        guard keyword.kind == .identifier else {
            throw fail(Self.expectedDeclaration + ", found \(Self.describe(keyword))")
        }
        switch keyword.text {
        case "vcl":
            _ = fail("the VCL version goes on the first line of the file only",
                     hint: "remove this `vcl …;` (an included file needs none)")
            advance()
            while current.kind != .end && !current.isSymbol(";") && !current.isSymbol("{") { advance() }
            _ = accept(";")
            return nil
        case "include":
            advance()
            guard current.kind == .string else { throw fail("expected a file name string after 'include'") }
            let path = advance()
            try expect(";", "after include")
            return .include(path: path.text, range: keyword.range.to(path.range))
        case "import":
            advance()
            let module = try expectName("a module name")
            if current.isIdentifier("from") {
                advance()
                if current.kind == .string { advance() }
            }
            try expect(";", "after import")
            return .importModule(module)
        case "backend":
            advance()
            let name = try expectName("a backend name")
            if current.isIdentifier("none") {
                advance()
                try expect(";", "after 'backend \(name.text) none'")
                return .backend(name, properties: nil)
            }
            return .backend(name, properties: try parseProperties())
        case "probe":
            advance()
            let name = try expectName("a probe name")
            return .probe(name, properties: try parseProperties())
        case "acl":
            advance()
            let name = try expectName("an ACL name")
            if accept("(") {
                while !current.isSymbol(")") && current.kind != .end { advance() }
                try expect(")", "after ACL flags")
            }
            return .acl(name, entries: try parseACLEntries())
        case "sub":
            advance()
            let name = try expectName("a subroutine name")
            return .subroutine(name, body: try parseBlock())
        case "director":
            throw fail("'director' declarations are Varnish 3 syntax", at: keyword.range,
                       hint: "import directors; and create one in vcl_init: new NAME = directors.round_robin();")
        default:
            throw fail(Self.expectedDeclaration + ", found \(Self.describe(keyword))")
        }
    }

    private mutating func parseProperties() throws(SyntaxError) -> [Property] {
        try expect("{", "to open the declaration")
        var properties: [Property] = []
        while !current.isSymbol("}") && current.kind != .end {
            do {
                guard current.kind == .identifier, current.text.hasPrefix(".") else {
                    throw fail("expected a property such as .host, found \(Self.describe(current))")
                }
                let token = advance()
                let name = Name(text: String(token.text.dropFirst()), range: token.range)
                try expect("=", "after .\(name.text)")
                if current.isSymbol("{") {
                    properties.append(Property(name: name, value: .probe(try parseProperties())))
                    continue
                }
                if current.kind == .string && next.kind == .string {
                    var strings: [String] = []
                    while current.kind == .string { strings.append(advance().text) }
                    properties.append(Property(name: name, value: .strings(strings)))
                } else {
                    properties.append(Property(name: name, value: .expression(try parseExpression())))
                }
                try expect(";", "after the value of .\(name.text)")
            } catch {
                synchronizeStatement()
            }
        }
        try expect("}", "to close the declaration")
        return properties
    }

    private mutating func parseACLEntries() throws(SyntaxError) -> [ACLEntry] {
        try expect("{", "to open the ACL")
        var entries: [ACLEntry] = []
        while !current.isSymbol("}") && current.kind != .end {
            do {
                // [!] "address" [/bits] ;   or, optional:   [!] ( [!] "address" [/bits] ) ;
                let start = current.range
                var negated = accept("!")
                let optional = accept("(")
                if optional, accept("!") { negated = true }
                guard current.kind == .string else {
                    throw fail("expected an address string in the ACL, found \(Self.describe(current))")
                }
                let address = advance()
                var mask: Int?
                var end = address.range
                if accept("/") {
                    guard current.kind == .integer, let bits = Int(current.text) else {
                        throw fail("expected a mask length after '/'")
                    }
                    mask = bits
                    end = advance().range
                }
                if optional { try expect(")", "to close the optional ACL entry") }
                try expect(";", "after an ACL entry")
                entries.append(ACLEntry(negated: negated, address: address.text, maskBits: mask, optional: optional,
                                        range: start.to(end)))
            } catch {
                synchronizeStatement()
            }
        }
        try expect("}", "to close the ACL")
        return entries
    }

    // MARK: statements

    private mutating func parseBlock() throws(SyntaxError) -> Block {
        nesting += 1
        defer { nesting -= 1 }
        try checkNesting()
        let open = current.range
        try expect("{", "to open the block")
        var statements: [Statement] = []
        while !current.isSymbol("}") && current.kind != .end {
            do {
                if let statement = try parseStatement() { statements.append(statement) }
            } catch {
                synchronizeStatement()
            }
        }
        let close = current.range
        try expect("}", "to close the block")
        return Block(statements: statements, range: open.to(close))
    }

    private mutating func parseStatement() throws(SyntaxError) -> Statement? {
        let start = current
        if accept(";") { return nil }
        if current.isSymbol("{") { return .block(try parseBlock()) }
        guard start.kind == .identifier else { throw fail("expected a statement, found \(Self.describe(start))") }
        switch start.text {
        case "set":
            advance()
            let target = try expectName("a variable after 'set'")
            guard current.kind == .symbol, ["=", "+=", "-=", "*=", "/="].contains(current.text) else {
                throw fail("expected '=' after 'set \(target.text)', found \(Self.describe(current))")
            }
            let op = advance().text
            let value = try parseExpression()
            try expect(";", "after the value")
            return .set(target: target, op: op, value: value, range: start.range.to(value.range))
        case "unset", "remove":
            advance()
            let target = try expectName("a variable after '\(start.text)'")
            try expect(";", "after 'unset \(target.text)'")
            if start.text == "remove" {
                diagnostics.append(Diagnostic(.error, "'remove' is Varnish 3 syntax", at: start.range,
                                              hint: "write 'unset \(target.text);'"))
            }
            return .unset(target, range: start.range.to(target.range))
        case "if":
            return try parseConditional()
        case "return":
            advance()
            if accept(";") { return .returnAction(action: nil, arguments: [], range: start.range) }
            try expect("(", "after 'return'")
            let action = try expectName("a return action")
            var arguments: [Expression] = []
            if accept("(") {
                arguments = try parseArguments()
            }
            let close = current.range
            try expect(")", "after the return action")
            try expect(";", "after 'return(…)'")
            return .returnAction(action: action, arguments: arguments, range: start.range.to(close))
        case "call":
            advance()
            let name = try expectName("a subroutine name after 'call'")
            try expect(";", "after 'call \(name.text)'")
            return .call(name, range: start.range.to(name.range))
        case "new":
            advance()
            let name = try expectName("an object name after 'new'")
            try expect("=", "after 'new \(name.text)'")
            let constructor = try parseExpression()
            try expect(";", "after the constructor")
            return .new(name: name, constructor: constructor, range: start.range.to(constructor.range))
        case "error":
            throw fail("'error' is Varnish 3 syntax", at: start.range,
                       hint: "write 'return (synth(STATUS, \"reason\"));' and build the page in vcl_synth")
        case "esi", "purge":
            throw fail("'\(start.text);' is Varnish 3 syntax", at: start.range,
                       hint: start.text == "esi" ? "set beresp.do_esi = true;" : "return (purge);")
        default:
            let expression = try parseExpression()
            guard case .call = expression else {
                throw fail("expected a statement, found an expression", at: expression.range,
                           hint: "only function calls may stand alone, e.g. hash_data(req.url);")
            }
            try expect(";", "after the call")
            return .expression(expression, range: expression.range)
        }
    }

    private mutating func parseConditional() throws(SyntaxError) -> Statement {
        let start = advance().range  // if
        var branches: [(condition: Expression, body: Block)] = []
        try expect("(", "after 'if'")
        let first = try parseExpression()
        try expect(")", "after the condition")
        branches.append((first, try parseBlock()))
        var otherwise: Block?
        var end = branches[0].body.range
        while true {
            if current.isIdentifier("elsif") || current.isIdentifier("elseif")
                || (current.isIdentifier("else") && next.isIdentifier("if")) {
                if current.isIdentifier("else") { advance() }
                advance()
                try expect("(", "after 'elsif'")
                let condition = try parseExpression()
                try expect(")", "after the condition")
                let body = try parseBlock()
                branches.append((condition, body))
                end = body.range
            } else if current.isIdentifier("else") {
                advance()
                let body = try parseBlock()
                otherwise = body
                end = body.range
                break
            } else {
                break
            }
        }
        return .conditional(branches: branches, otherwise: otherwise, range: start.to(end))
    }

    // MARK: expressions (lowest precedence first)

    mutating func parseExpression() throws(SyntaxError) -> Expression {
        nesting += 1
        defer { nesting -= 1 }
        try checkNesting()
        return try parseBinary(level: 0)
    }

    private static let levels: [[String]] = [["||"], ["&&"], ["==", "!=", "<", ">", "<=", ">=", "~", "!~"],
                                             ["+", "-"], ["*", "/"]]

    private mutating func parseBinary(level: Int) throws(SyntaxError) -> Expression {
        guard level < Self.levels.count else { return try parseUnary() }
        if level == 2, current.isSymbol("!") {
            // As in Varnish, `!` negates a whole comparison: `!client.ip ~ purge` is `!(client.ip ~ purge)`.
            let op = advance()
            nesting += 1
            defer { nesting -= 1 }
            try checkNesting()
            let operand = try parseBinary(level: 2)
            return .unary(op: op.text, operand: operand, range: op.range.to(operand.range))
        }
        var lhs = try parseBinary(level: level + 1)
        var operators = 0
        while current.kind == .symbol, Self.levels[level].contains(current.text) {
            operators += 1
            guard operators <= Self.maxChain else {
                throw fail("more than \(Self.maxChain) operators in one expression", hint: "split it into smaller parts")
            }
            let op = advance().text
            let rhs = try parseBinary(level: level + 1)
            lhs = .binary(op: op, lhs: lhs, rhs: rhs, range: lhs.range.to(rhs.range))
        }
        return lhs
    }

    private mutating func parseUnary() throws(SyntaxError) -> Expression {
        if current.isSymbol("-") {
            let op = advance()
            nesting += 1
            defer { nesting -= 1 }
            try checkNesting()
            let operand = try parseUnary()
            return .unary(op: op.text, operand: operand, range: op.range.to(operand.range))
        }
        return try parsePostfix()
    }

    private mutating func parsePostfix() throws(SyntaxError) -> Expression {
        var expression = try parsePrimary()
        while current.kind == .identifier, current.text.hasPrefix("."), next.isSymbol("(") {
            // `(EXPR).lower()` and friends after a parenthesised value or a call.
            let token = advance()
            advance()
            let arguments = try parseArguments()
            let method = Name(text: String(token.text.dropFirst()), range: token.range)
            expression = .method(target: expression, method: method, arguments: arguments,
                                 range: expression.range.to(tokens[index - 1].range))
        }
        return expression
    }

    private static let methods: Set<String> = ["lower", "upper"]

    private mutating func parsePrimary() throws(SyntaxError) -> Expression {
        let token = current
        switch token.kind {
        case .string:
            advance()
            var text = token.text
            var range = token.range
            while current.kind == .string {  // adjacent strings concatenate
                text += current.text
                range = range.to(advance().range)
            }
            return .literal(.string(text), range)
        case .integer:
            advance()
            guard let value = Int(token.text) else { throw fail("integer \(token.text) is too large", at: token.range) }
            return .literal(.integer(value), token.range)
        case .real:
            advance()
            return .literal(.real(Double(token.text) ?? 0), token.range)
        case .duration:
            advance()
            return .literal(.duration(Self.seconds(token.text)), token.range)
        case .bytes:
            advance()
            return .literal(.bytes(Self.byteCount(token.text)), token.range)
        case .identifier:
            advance()
            if token.text == "true" || token.text == "false" {
                return .literal(.bool(token.text == "true"), token.range)
            }
            if accept("(") {
                // `x.y.lower()` lexes as one identifier: split off a trailing method on a value.
                if let dot = token.text.lastIndex(of: "."), !token.text.hasPrefix("std."),
                   Self.methods.contains(String(token.text[token.text.index(after: dot)...])) {
                    let targetText = String(token.text[..<dot])
                    let targetEnd = token.range.start + targetText.utf8.count
                    let targetRange = SourceRange(token.range.start, targetEnd, file: token.range.file)
                    let target = Expression.name(Name(text: targetText, range: targetRange))
                    let method = Name(text: String(token.text[token.text.index(after: dot)...]),
                                      range: SourceRange(targetEnd + 1, token.range.end, file: token.range.file))
                    let arguments = try parseArguments()
                    return .method(target: target, method: method, arguments: arguments,
                                   range: token.range.to(tokens[index - 1].range))
                }
                let arguments = try parseArguments()
                return .call(function: Name(text: token.text, range: token.range), arguments: arguments,
                             range: token.range.to(tokens[index - 1].range))
            }
            return .name(Name(text: token.text, range: token.range))
        case .symbol where token.text == "(":
            advance()
            let inner = try parseExpression()
            try expect(")", "to close the parenthesis")
            return inner
        default:
            throw fail("expected a value, found \(Self.describe(token))")
        }
    }

    /// Arguments after '(' up to and including ')'; a named one (`x = 1`) keeps its name.
    private mutating func parseArguments() throws(SyntaxError) -> [Expression] {
        var arguments: [Expression] = []
        if accept(")") { return arguments }
        repeat {
            if current.kind == .identifier, next.isSymbol("=") {
                let name = advance()
                advance()
                arguments.append(.named(Name(text: name.text, range: name.range), try parseExpression()))
                continue
            }
            arguments.append(try parseExpression())
        } while accept(",")
        try expect(")", "after the arguments")
        return arguments
    }

    static func seconds(_ text: String) -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800),
                                         ("y", 31_536_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            return (Double(text.dropLast(suffix.count)) ?? 0) * factor
        }
        return Double(text) ?? 0
    }

    static func byteCount(_ text: String) -> Int {
        let units: [(String, Double)] = [("KB", 1024), ("MB", 1_048_576), ("GB", 1_073_741_824),
                                         ("TB", 1_099_511_627_776), ("B", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            return Int((Double(text.dropLast(suffix.count)) ?? 0) * factor)
        }
        return Int(text) ?? 0
    }
}
