// Lexer: VCL text into tokens, with Varnish's lexical rules: identifiers may contain '.', '-'
// and '_' (so `req.http.X-Forwarded-For` is one token); numbers may carry a duration or size
// unit; strings are "…", {"…"} or """…"""; comments are #, // and /* */. Problems become
// diagnostics and lexing goes on.

public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case identifier
        case integer
        case real
        case duration
        case bytes
        case string
        /// `{ } ( ) ; ,` and operators.
        case symbol
        case end
    }

    public var kind: Kind
    /// The source text; for strings, their content without quotes.
    public var text: String
    public var range: SourceRange

    public func isSymbol(_ symbol: String) -> Bool { kind == .symbol && text == symbol }
    public func isIdentifier(_ name: String) -> Bool { kind == .identifier && text == name }
}

public enum Lexer {
    static let durationUnits: Set<String> = ["ms", "s", "m", "h", "d", "w", "y"]
    static let sizeUnits: Set<String> = ["B", "KB", "MB", "GB", "TB"]
    static let symbols2: Set<String> = ["==", "!=", "!~", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/="]
    static let symbols1: Set<UInt8> = Set("{}();,=~<>!+-*/".utf8)

    public static func tokenize(_ file: SourceFile, fileID: Int = 0) -> (tokens: [Token], diagnostics: [Diagnostic]) {
        let b = file.bytes
        var tokens: [Token] = []
        var diagnostics: [Diagnostic] = []
        var i = 0
        func at(_ offset: Int) -> UInt8 { offset < b.count ? b[offset] : 0 }
        func text(_ start: Int, _ end: Int) -> String { String(decoding: b[start..<end], as: UTF8.self) }
        func span(_ start: Int, _ end: Int) -> SourceRange { SourceRange(start, end, file: fileID) }
        /// A string that may span lines ({"…"} or """…"""); returns where lexing resumes.
        func longString(from start: Int, open: Int, close: [UInt8]) -> Int {
            var end = start + open
            while end + close.count <= b.count, !b[end..<(end + close.count)].elementsEqual(close) { end += 1 }
            guard end + close.count <= b.count else {
                let opener = text(start, start + open)
                diagnostics.append(Diagnostic(.error, "unterminated \(opener) string", at: span(start, start + open)))
                return b.count
            }
            tokens.append(Token(kind: .string, text: text(start + open, end), range: span(start, end + close.count)))
            return end + close.count
        }

        while i < b.count {
            let c = b[i]
            let start = i
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                i += 1
            } else if c == UInt8(ascii: "#") || (c == UInt8(ascii: "/") && at(i + 1) == UInt8(ascii: "/")) {
                while i < b.count, b[i] != 0x0A { i += 1 }
            } else if c == UInt8(ascii: "/") && at(i + 1) == UInt8(ascii: "*") {
                i += 2
                while i < b.count, !(b[i] == UInt8(ascii: "*") && at(i + 1) == UInt8(ascii: "/")) { i += 1 }
                if i >= b.count {
                    diagnostics.append(Diagnostic(.error, "unterminated /* comment", at: span(start, start + 2)))
                } else {
                    i += 2
                }
            } else if c == UInt8(ascii: "C") && at(i + 1) == UInt8(ascii: "{") {
                i += 2
                while i < b.count, !(b[i] == UInt8(ascii: "}") && at(i + 1) == UInt8(ascii: "C")) { i += 1 }
                i = min(b.count, i + 2)
                diagnostics.append(Diagnostic(.error, "inline C (C{ … }C) is not supported",
                                              at: span(start, start + 2),
                                              hint: "Shellac runs no C code; use VCL or the std module"))
            } else if c == UInt8(ascii: "\"") && at(i + 1) == UInt8(ascii: "\"") && at(i + 2) == UInt8(ascii: "\"") {
                i = longString(from: start, open: 3, close: Array("\"\"\"".utf8))
            } else if c == UInt8(ascii: "{") && at(i + 1) == UInt8(ascii: "\"") {
                i = longString(from: start, open: 2, close: Array("\"}".utf8))
            } else if c == UInt8(ascii: "\"") {
                i += 1
                let contentStart = i
                while i < b.count, b[i] != 0x22, b[i] != 0x0A { i += 1 }
                if i >= b.count || b[i] == 0x0A {
                    diagnostics.append(Diagnostic(.error, "unterminated string", at: span(start, i),
                                                  hint: "strings end on their line; use {\"…\"} for long strings"))
                    continue
                }
                tokens.append(Token(kind: .string, text: text(contentStart, i), range: span(start, i + 1)))
                i += 1
            } else if isDigit(c) {
                while isDigit(at(i)) { i += 1 }
                var kind = Token.Kind.integer
                if at(i) == UInt8(ascii: "."), isDigit(at(i + 1)) {
                    i += 1
                    while isDigit(at(i)) { i += 1 }
                    kind = .real
                }
                let unitStart = i
                while isLetter(at(i)) { i += 1 }
                let unit = text(unitStart, i)
                if !unit.isEmpty {
                    if durationUnits.contains(unit) {
                        kind = .duration
                    } else if sizeUnits.contains(unit) {
                        kind = .bytes
                    } else {
                        diagnostics.append(Diagnostic(.error, "unknown unit '\(unit)'", at: span(unitStart, i),
                                                      hint: "durations take ms s m h d w y; sizes B KB MB GB TB"))
                    }
                }
                tokens.append(Token(kind: kind, text: text(start, i), range: span(start, i)))
            } else if isLetter(c) || c == UInt8(ascii: "_") {
                while isIdentifierByte(at(i)) { i += 1 }
                // A trailing '.' or '-' belongs to what follows (e.g. `.lower()` is not written this way).
                while i > start + 1, b[i - 1] == UInt8(ascii: ".") || b[i - 1] == UInt8(ascii: "-") { i -= 1 }
                tokens.append(Token(kind: .identifier, text: text(start, i), range: span(start, i)))
            } else if c == UInt8(ascii: "."), isLetter(at(i + 1)) {
                // `.host` in backend and probe declarations.
                i += 1
                while isIdentifierByte(at(i)) { i += 1 }
                tokens.append(Token(kind: .identifier, text: text(start, i), range: span(start, i)))
            } else if i + 1 < b.count, symbols2.contains(text(i, i + 2)) {
                tokens.append(Token(kind: .symbol, text: text(i, i + 2), range: span(i, i + 2)))
                i += 2
            } else if symbols1.contains(c) {
                tokens.append(Token(kind: .symbol, text: text(i, i + 1), range: span(i, i + 1)))
                i += 1
            } else {
                let scalarEnd = min(b.count, i + utf8Length(c))
                diagnostics.append(Diagnostic(.error, "unexpected character '\(text(i, scalarEnd))'",
                                              at: span(i, scalarEnd)))
                i = scalarEnd
            }
        }
        tokens.append(Token(kind: .end, text: "", range: span(b.count, b.count)))
        return (tokens, diagnostics)
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isLetter(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    static func isIdentifierByte(_ c: UInt8) -> Bool {
        isLetter(c) || isDigit(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
    }

    private static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...: return 4
        case 0xE0...: return 3
        case 0xC0...: return 2
        default: return 1
        }
    }
}
