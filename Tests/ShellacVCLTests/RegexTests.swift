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

    /// A pattern that backtracks without end on a crafted subject stops at the match limit (10,000
    /// steps, Varnish's default) and throws, instead of running ten million steps (about 12 ms an
    /// event loop spent for each such request, measured): `matches` takes it as no match,
    /// `test` and `substitute` throw, for the VCL to fail as Varnish does.
    @Test func aRunawayMatchStopsAtTheLimitAndFails() throws {
        let regex = try VCLRegex("^/(a+)+$")
        let crafted = "/" + String(repeating: "a", count: 40) + "!"
        #expect(throws: VCLRegex.MatchFailure(code: -47)) { try regex.test(crafted) }
        #expect(regex.matches(crafted) == false)
        #expect(throws: VCLRegex.SubstitutionError.gaveUp(.init(code: -47))) {
            try regex.substitute(in: crafted, with: "x", all: false)
        }
        #expect(try regex.test("/" + String(repeating: "a", count: 40)))
        #expect(try regex.test("/b") == false)
        #expect(VCLRegex.MatchFailure(code: -47).message == "Regexp matching returned -47")
    }

    /// regsuball stops as soon as its result passes the limit it is given, rather than building a
    /// result thousands of times its subject first.
    @Test func aSubstitutionStopsPastItsLongestResult() throws {
        let every = try VCLRegex(".")
        let subject = String(repeating: "y", count: 4096)
        let replacement = String(repeating: "z", count: 64)
        #expect(throws: VCLRegex.SubstitutionError.tooLong(limit: 65_536)) {
            try every.substitute(in: subject, with: replacement, all: true, longest: 65_536)
        }
        #expect(try every.substitute(in: "ab", with: "xy", all: true, longest: 4) == "xyxy")
        #expect(throws: VCLRegex.SubstitutionError.tooLong(limit: 3)) {
            try every.substitute(in: "ab", with: "xy", all: true, longest: 3)
        }
    }

    /// Replacements as Varnish builds them: \0 to \9 (groups past the ninth are there but cannot be
    /// named), a group that took no part inserting nothing, a backslash before anything but a
    /// digit kept as it is, bytes a match split out of a character repaired as a String repairs
    /// them; and a result larger than the thread's buffer, then a small one after it.
    @Test(arguments: [
        ("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)", "-abcdefghijk-", "\\9\\1\\0", "-iaabcdefghijk-"),
        ("x(y)?z", "xz xyz", "[\\1]", "[] [y]"),
        ("b", "abc", "\\n\\", "a\\n\\c"),
        ("\\xA9", "caf\u{E9}!", "e", "caf\u{FFFD}e!"),
        ("; +", "a=1;  b=2; c=3", ";", "a=1;b=2;c=3"),
        ("^[; ]+|[; ]+$", "; a=1; ", "", "a=1"),
    ])
    func replacementsInsertGroupsAsVarnishDoes(pattern: String, subject: String, replacement: String,
                                               expected: String) throws {
        #expect(try VCLRegex(pattern).substitute(in: subject, with: replacement, all: true) == expected)
    }

    @Test func aLargeResultThenASmallOneOnTheSameThread() throws {
        let every = try VCLRegex("y")
        let large = try every.substitute(in: String(repeating: "y", count: 10_000), with: "zzzz", all: true)
        #expect(large == String(repeating: "zzzz", count: 10_000))
        #expect(try every.substitute(in: "xyx", with: "-", all: true) == "x-x")
        #expect(try every.substitute(in: "xyy", with: "-", all: false) == "x-y")
    }

    /// A match first looks for the bytes PCRE2 says every match contains (skipping PCRE2 when
    /// one is missing): it must answer as PCRE2 alone does, caseless patterns, anchors,
    /// alternations and empty subjects included.
    @Test func requiredBytesAnswerAsPCRE2Does() throws {
        let patterns = ["(?i)\\.(css|js|png|jpe?g)(\\?.*)?$", "(\\?|&)(utm_[a-z]+|gclid)=", "^/wp-(admin|login)",
                        "(?i)X-Y:", "a=b", "=", "\\?", "^$", "", ".*", "[.]css", "(?i)CSS", "x?=", "(a|b)c/",
                        "\\d+\\.\\d+", "(?m)^=", "/$", "\\bq="]
        let alphabet = Array("/.=?&acsCSxXbq:-5 ".utf8)
        var seed: UInt64 = 5
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33) % n
        }
        var subjects = ["", "/", "/a.css", "/a.CSS?x=1", "/bench?cc=max-age=3600&ms=0&size=1024", "/p?utm_source=x"]
        for _ in 0..<400 {
            subjects.append(String(decoding: (0..<next(12)).map { _ in alphabet[next(alphabet.count)] }, as: UTF8.self))
        }
        for pattern in patterns {
            let checked = try VCLRegex(pattern)
            let plain = try VCLRegex(pattern, checksRequiredBytes: false)
            for subject in subjects {
                #expect(checked.matches(subject) == plain.matches(subject), "\(pattern) on \(subject)")
            }
        }
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
