// VCL regexes through the system PCRE2: Varnish's syntax, and errors with their position.

import Testing
@testable import ShellacVCL

@Suite struct RegexTests {
    @Test(arguments: [
        ("^/wp-(admin|login)", "/wp-admin/x", true),
        ("(?i)\\.(PNG|jpg)$", "/a/b.png", true),
        ("^[[:alpha:]]+$", "abc", true),
        ("^[[:alpha:]]+$", "ab1", false),
        ("\\d{3}", "x404y", true),
        ("^$", "", true),
        ("wordpress_logged_in_", "a=1; wordpress_logged_in_x=2", true),
    ])
    func varnishRegexSyntaxMatches(pattern: String, subject: String, expected: Bool) throws {
        #expect(try VCLRegex(pattern).matches(subject) == expected)
    }

    @Test func compileErrorsCarryTheirOffset() {
        #expect(throws: VCLRegex.CompileError.self) { try VCLRegex("(unclosed") }
        do {
            _ = try VCLRegex("ab[")
        } catch {
            #expect(error.offset == 3)
            #expect(error.message.contains("missing terminating ]"))
        }
    }

    @Test func aBadRegexIsAVCLErrorAtItsPosition() {
        let file = SourceFile(name: "r.vcl", text: "vcl 4.1;\nsub vcl_recv {\n    if (req.url ~ \"^/a[\") { return (pass); }\n}\n")
        let (source, syntax) = Parser.parse(file)
        #expect(syntax.isEmpty)
        let rendered = Checker.check(source).map { $0.rendered(in: file) }
        #expect(rendered.count == 1)
        #expect(rendered.first?.hasPrefix("r.vcl:3:24: error: invalid regular expression: missing terminating ]") == true,
                "\(rendered)")
    }
}
