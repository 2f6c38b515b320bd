// The VCL lexer: identifiers with dots and dashes, numbers with units, three string forms,
// comments, and errors that do not stop lexing.

import Testing
@testable import ShellacVCL

func lex(_ text: String) -> ([Token], [Diagnostic]) {
    Lexer.tokenize(SourceFile(name: "t.vcl", text: text))
}

@Suite struct LexerTests {
    @Test func identifiersNumbersAndSymbols() {
        let (tokens, diagnostics) = lex("set req.http.X-Forwarded-For = 10s + 1.5m; if (a != 2 && !b) {} 10KB 4.1")
        #expect(diagnostics.isEmpty)
        #expect(tokens.map(\.text) == ["set", "req.http.X-Forwarded-For", "=", "10s", "+", "1.5m", ";", "if", "(", "a",
                                       "!=", "2", "&&", "!", "b", ")", "{", "}", "10KB", "4.1", ""])
        #expect(tokens[3].kind == .duration)
        #expect(tokens[18].kind == .bytes)
        #expect(tokens[19].kind == .real)
    }

    @Test func stringsAndComments() {
        let text = """
        # hash comment
        "plain" // line comment
        /* block
           comment */ {"long
        string"} \"\"\"triple "quoted" \"\"\"
        """
        let (tokens, diagnostics) = lex(text)
        #expect(diagnostics.isEmpty)
        #expect(tokens.filter { $0.kind == .string }.map(\.text) == ["plain", "long\nstring", "triple \"quoted\" "])
    }

    @Test func errorsAreReportedAndLexingGoesOn() {
        let (tokens, diagnostics) = lex("\"open\nset x = 5q; C{ int x; }C @ ok")
        #expect(diagnostics.map(\.message) == ["unterminated string", "unknown unit 'q'",
                                               "inline C (C{ … }C) is not supported", "unexpected character '@'"])
        #expect(tokens.contains { $0.isIdentifier("ok") })
    }
}
