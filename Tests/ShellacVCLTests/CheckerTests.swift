// The checker: clean real-world VCL, and each kind of mistake with its message and hint.

import Testing
@testable import ShellacVCL

func check(_ text: String) -> [Diagnostic] {
    let file = SourceFile(name: "t.vcl", text: text)
    let (source, syntax) = Parser.parse(file)
    #expect(syntax.isEmpty, "syntax: \(syntax.map { $0.rendered(in: file) })")
    return Checker.check(source)
}

@Suite struct CheckerTests {
    @Test func realWorldVCLChecksClean() {
        let diagnostics = check(realWorld)
        // Only the warning Varnish would give too: its `backend unused none;` is never referred to.
        #expect(diagnostics.map(\.message) == ["backend 'unused' is never used"])
        #expect(diagnostics.allSatisfy { $0.severity == .warning })
    }

    @Test func unusedDeclarationsAndIgnoredVariablesAreWarnings() {
        let diagnostics = check("""
        vcl 4.1;
        backend first { .host = "127.0.0.1"; }
        backend spare { .host = "127.0.0.1"; .probe = used; }
        backend idle { .host = "127.0.0.1"; }
        probe used { .url = "/"; }
        probe idle_probe { .url = "/"; }
        acl staff { "10.0.0.0"/8; }
        acl nobody { "10.0.0.1"; }
        sub vcl_recv { if (client.ip ~ staff) { set req.backend_hint = spare; } }
        sub vcl_backend_response { set beresp.do_esi = true; set beresp.do_gzip = true; }
        """)
        #expect(diagnostics.map(\.message) == [
            "'beresp.do_esi' is ignored: Shellac does not process ESI",
            "backend 'idle' is never used", "probe 'idle_probe' is never used", "acl 'nobody' is never used",
        ])
        #expect(diagnostics.allSatisfy { $0.severity == .warning })
    }

    @Test func variableOutsideItsSubroutineNamesWhereItCanBeUsed() {
        let diagnostics = check("vcl 4.1; sub vcl_recv { if (resp.http.X) { return (pass); } }")
        #expect(diagnostics.count == 1)
        #expect(diagnostics[0].message == "'resp.http.X' is not available in vcl_recv")
        #expect(diagnostics[0].hint == "it can be used in vcl_deliver and vcl_synth")
    }

    @Test(arguments: [
        ("sub vcl_recv { set req.xid = \"1\"; }", "'req.xid' is read-only", nil),
        ("sub vcl_hit { set beresp.ttl = 1s; }", "'beresp.ttl' cannot be set in vcl_hit",
         "it can be set in vcl_backend_error and vcl_backend_response"),
        ("sub vcl_deliver { unset resp.status; }", "only headers can be unset, not 'resp.status'", nil),
        ("sub vcl_recv { return (lookup); }", "return(lookup) is not allowed in vcl_recv", "in vcl_recv, write return (hash);"),
        ("sub vcl_deliver { return (hash); }", "return(hash) is not allowed in vcl_deliver",
         "allowed there: deliver, fail, restart, synth"),
        ("sub vcl_fetch { }", "'vcl_fetch' is Varnish 3 syntax", "it is called vcl_backend_response in VCL 4"),
        ("sub vcl_recv { set req.request = \"GET\"; }", "'req.request' is Varnish 3 syntax", "write req.method"),
        ("sub vcl_recv { call nowhere; }", "call to undefined subroutine 'nowhere'", nil),
        ("sub vcl_recv { set req.backend_hint = app; }", "unknown name 'app'",
         "not a variable, backend, ACL, probe or object declared in this VCL"),
        ("import geoip; sub vcl_recv { }", "module 'geoip' is not available", "Shellac builds in the modules std, directors, cookie, xkey (tag purges) and shellac"),
        ("sub vcl_recv { std.log(\"x\"); }", "'std' is used without 'import std;'", nil),
        ("sub vcl_recv { hash_data(req.url); }", "hash_data() is only allowed in vcl_hash", nil),
        ("sub vcl_recv { set req.url = frobnicate(req.url); }", "unknown function 'frobnicate'", nil),
    ] as [(String, String, String?)])
    func mistakesAreReportedWithAHint(text: String, message: String, hint: String?) {
        let diagnostics = check("vcl 4.1; " + text).filter { $0.severity == .error }
        #expect(diagnostics.map(\.message) == [message])
        #expect(diagnostics.first?.hint == hint)
    }

    @Test(arguments: [
        ("sub vcl_backend_response { set beresp.ttl = \"10s\"; }", "cannot set DURATION 'beresp.ttl' to a STRING",
         "write the duration without quotes: 10s"),
        ("sub vcl_backend_response { set beresp.ttl = 10; }", "cannot set DURATION 'beresp.ttl' to an INT",
         "durations need a unit, e.g. 10s"),
        ("sub vcl_recv { if (req.restarts == \"0\") { } }", "cannot compare an INT with a STRING", nil),
        ("sub vcl_recv { if (req.url > 3) { } }", "cannot order a STRING and an INT", nil),
        ("sub vcl_recv { if (req.restarts ~ \"1\") { } }", "'~' matches a STRING, not an INT", nil),
        ("sub vcl_recv { if (req.url ~ req.http.pattern) { } }", "a regular expression must be a string literal",
         "regexes are compiled once when the VCL loads"),
        ("acl a { \"127.0.0.1\"; } sub vcl_recv { if (req.url ~ a) { } }", "only an IP can be matched against the ACL 'a'", nil),
        ("sub vcl_recv { return (synth(\"404\")); }", "argument 1 of synth() must be an INT, not a STRING", nil),
        ("sub vcl_backend_response { return (pass(10)); }", "argument 1 of pass() must be a DURATION, not an INT", nil),
        ("sub vcl_recv { return (fail(503)); }", "argument 1 of fail() must be a STRING, not an INT", nil),
        ("sub vcl_recv { return (fail(\"a\", \"b\")); }", "return(fail(…)) takes one reason", nil),
        ("sub vcl_recv { set req.http.x = now - 1s + 1h; set req.ttl = now; }", "cannot set DURATION 'req.ttl' to a TIME", nil),
    ] as [(String, String, String?)])
    func typeErrorsAreReported(text: String, message: String, hint: String?) {
        let diagnostics = check("vcl 4.1; " + text).filter { $0.severity == .error }
        #expect(diagnostics.map(\.message) == [message])
        #expect(diagnostics.first?.hint == hint)
    }

    @Test func stringConcatenationAndTimeArithmeticAreFine() {
        let diagnostics = check("""
        vcl 4.1;
        import std;
        sub vcl_deliver {
            set resp.http.X = "hits " + obj.hits + " age " + obj.age + " at " + now + " ip " + client.ip;
            set resp.http.Y = std.integer(req.http.n, 0) * 2 + 1;
            if (obj.ttl > 0s && std.duration(req.http.d, 1s) < 1m || !req.http.z) { set resp.status = 200; }
        }
        """)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
    }

    /// A bare return (error) is Varnish's failed fetch (503); return (synth) needs its status.
    @Test func errorMayComeBareButSynthMayNot() {
        let messages = check("""
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "8080"; }
        sub vcl_backend_fetch { return (error); }
        sub vcl_backend_response { return (error); }
        sub vcl_recv { return (synth); }
        """).map(\.message)
        #expect(messages == ["return(synth(…)) takes a status and an optional reason"])
    }

    /// A chain of calls thousands long is an error (following it recursed until the stack
    /// overflowed); a chain in which each subroutine calls the next twice is followed once per
    /// subroutine (it took time doubling with every link).
    @Test func callChainsAreBoundedAndFollowedOnce() {
        func chain(_ links: Int, callsEach: Int) -> String {
            var lines = ["vcl 4.1;", "backend b { .host = \"127.0.0.1\"; .port = \"8080\"; }"]
            for i in 0..<links {
                lines.append("sub s\(i) { " + String(repeating: "call s\(i + 1); ", count: callsEach) + "}")
            }
            lines.append("sub s\(links) { set req.http.x = \"end\"; }")
            lines.append("sub vcl_recv { call s0; }")
            return lines.joined(separator: "\n")
        }
        let errors = check(chain(5_000, callsEach: 1)).filter { $0.severity == .error }
        #expect(errors.map(\.message) == ["calls nested more than 100 deep"])
        #expect(check(chain(60, callsEach: 2)).isEmpty)
        #expect(check(chain(90, callsEach: 1)).isEmpty)
    }

    @Test func customSubroutinesAreHeldToEveryCaller() {
        let text = """
        vcl 4.1;
        sub shared { set resp.status = 200; return (pass); }
        sub vcl_recv { call shared; }
        sub vcl_deliver { call shared; }
        """
        let messages = check(text).map(\.message)
        #expect(messages.contains("'resp.status' cannot be set in vcl_recv"))
        #expect(messages.contains("return(pass) is not allowed in vcl_deliver"))
    }

    @Test func recursionAndUnusedSubroutines() {
        let diagnostics = check("""
        vcl 4.1;
        sub a { call b; }
        sub b { call a; }
        sub lonely { }
        sub vcl_recv { call a; }
        """)
        #expect(diagnostics.contains { $0.message == "recursive call to 'a'" && $0.severity == .error })
        #expect(diagnostics.contains { $0.message == "subroutine 'lonely' is never called" && $0.severity == .warning })
    }

    @Test func errorsRenderWithTheirLine() {
        let file = SourceFile(name: "site.vcl", text: "vcl 4.1;\nsub vcl_recv {\n    set resp.http.X = \"1\";\n}\n")
        let (source, _) = Parser.parse(file)
        let rendered = Checker.check(source).map { $0.rendered(in: file) }
        #expect(rendered == ["""
        site.vcl:3:9: error: 'resp.http.X' cannot be set in vcl_recv
            set resp.http.X = "1";
                ^~~~~~~~~~~
        hint: it can be set in vcl_deliver and vcl_synth
        """])
    }
}
