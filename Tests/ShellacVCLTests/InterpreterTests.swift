// The interpreter against a plain context: conversions as Varnish prints them, operators,
// regsub backrefs, ACLs, std, custom subroutines, directors, and failures at run time.

import Foundation
import ShellacHTTP
import Testing
@testable import ShellacVCL

/// A context with plain storage: variables by id, header lists per scope.
struct TestContext: VCLContext {
    var values: [VariableID: VCLValue] = [.clientIP: .ip("192.0.2.7"), .now: .time(1_800_000_000)]
    var fields: [HeaderScope: HTTPFields] = [:]
    var hashed: [String] = []
    var body = ""
    var bans: [String] = []
    var banError = ""
    var logged: [String] = []
    var sick: Set<String> = []
    var cookies = CookieJar()

    func read(_ variable: VariableID) -> VCLValue { values[variable] ?? .string(nil) }
    mutating func write(_ variable: VariableID, _ value: VCLValue) { values[variable] = value }
    func header(_ scope: HeaderScope, _ name: String) -> String? { fields[scope]?[name] }
    func headers(_ scope: HeaderScope, _ name: String) -> [String] { fields[scope]?.values(name) ?? [] }
    mutating func setHeader(_ scope: HeaderScope, _ name: String, _ value: String) {
        fields[scope, default: HTTPFields()].set(name, value)
    }
    mutating func unsetHeader(_ scope: HeaderScope, _ name: String) { fields[scope]?.remove(name) }
    mutating func hashData(_ value: String) { hashed.append(value) }
    mutating func synthetic(_ body: String) { self.body += body }
    mutating func ban(_ expression: String) -> String? {
        guard expression.hasPrefix("req.") || expression.hasPrefix("obj.") else { return "not a ban expression" }
        bans.append(expression)
        return nil
    }
    mutating func log(_ message: String) { logged.append(message) }
    func isHealthy(_ backend: String) -> Bool { !sick.contains(backend) }
    var purged: [(tags: [String], soft: Bool)] = []
    mutating func purgeTags(_ tags: [String], soft: Bool) -> Int {
        purged.append((tags, soft))
        return tags.count * 10
    }
}

/// Loads `text` (the builtin VCL appended) or records why it did not load.
func load(_ text: String) throws -> VCLProgram {
    let source = "vcl 4.1;\nimport std;\nimport directors;\nbackend default { .host = \"127.0.0.1\"; }\n" + text
    let compilation = VCLCompiler.compile(path: "/t.vcl") { $0 == "/t.vcl" ? source : nil }
    switch VCLProgram.load(compilation) {
    case .success(let program): return program
    case .failure(let error):
        Issue.record("\(error.rendered)")
        throw error
    }
}

/// Runs vcl_recv of a program whose vcl_recv sets req.http.X to `expression`; returns X.
func evaluate(_ expression: String, _ context: TestContext = TestContext(), declarations: String = "") throws -> String? {
    let program = try load(declarations + "sub vcl_recv { set req.http.X = \(expression); return (hash); }")
    var context = context
    _ = program.run("vcl_recv", &context)
    return context.fields[.req]?["X"]
}

@Suite struct InterpreterTests {
    @Test(arguments: [
        ("\"a\" + 1", "a1"),
        ("\"\" + 1.5", "1.500"),
        ("\"\" + 10s", "10.000"),
        ("\"\" + 1m", "60.000"),
        ("\"\" + (2 * 3 + 1)", "7"),
        ("\"\" + (1h / 2)", "1800.000"),
        ("\"\" + client.ip", "192.0.2.7"),
        ("\"\" + now", "Fri, 15 Jan 2027 08:00:00 GMT"),
        ("\"\" + (now + 1d)", "Sat, 16 Jan 2027 08:00:00 GMT"),
        ("\"\" + default", "default"),
        ("\"\" + (1 < 2)", "true"),
        ("\"x\" + req.http.Missing + \"y\"", "xy"),
        ("\"MiXeD\".lower() + \"up\".upper()", "mixedUP"),
    ])
    func valuesPrintAsVarnishPrintsThem(expression: String, expected: String) throws {
        #expect(try evaluate(expression) == expected)
    }

    @Test(arguments: [
        ("regsub(\"/a/b/c\", \"^/([^/]+)/(.*)$\", \"\\2-\\1\")", "b/c-a"),
        ("regsub(\"aaa\", \"a\", \"b\")", "baa"),
        ("regsuball(\"aaa\", \"a\", \"b\")", "bbb"),
        ("regsuball(\"/x?utm_source=a&id=3&utm_medium=b\", \"(utm_[a-z]+)=[^&]*&?\", \"\")", "/x?id=3&"),
        ("regsub(\"no match\", \"^z\", \"y\")", "no match"),
        ("regsub(\"keep whole\", \"whole\", \"[\\0]\")", "keep [whole]"),
        // Only the first match may be empty, as Varnish 7.1 answers (not Perl's "-a-b-c-").
        ("regsuball(\"abc\", \"x*\", \"-\")", "-abc"),
        ("regsuball(\"aaa\", \"a*\", \"X\")", "X"),
        ("regsuball(\"bab\", \"a*\", \"X\")", "XbXb"),
        // std.tolower/toupper change ASCII letters only, as Varnish's do.
        ("std.tolower(\"ÄBC\") + std.toupper(\"äbc\")", "ÄbcäBC"),
        // std.real reads decimals only; anything else falls back.
        ("\"\" + std.real(\"1e3\", 2.5) + \" \" + std.real(\" -1.5 \", 0.0) + \" \" + std.real(\"inf\", 1.0)",
         "2.500 -1.500 1.000"),
    ])
    func regsubUsesBackreferences(expression: String, expected: String) throws {
        #expect(try evaluate(expression) == expected)
    }

    @Test(arguments: [
        ("192.0.2.7", true), ("192.0.2.200", false), ("10.1.2.3", true), ("10.0.0.23", false),
        ("::1", true), ("2001:db8::5", true), ("2001:db9::5", false), ("::ffff:10.9.9.9", true),
        ("127.0.0.1", true), ("not an ip", false),
    ])
    func aclsMatchRangesAndNegation(address: String, allowed: Bool) throws {
        let acl = """
        acl staff { "192.0.2.7"; "10.0.0.0"/8; ! "10.0.0.23"; "2001:db8::"/32; "localhost"; }

        """
        var context = TestContext()
        context.values[.clientIP] = .ip(address)
        #expect(try evaluate("\"\" + (client.ip ~ staff)", context, declarations: acl) == (allowed ? "true" : "false"))
    }

    /// A stand-in for the system resolver: two names have addresses, any other has none.
    static func fakeResolver(_ name: String) -> Result<[[UInt8]], ACL.LookupFailure> {
        switch name {
        case "app.internal": .success([[10, 1, 2, 3], IPAddress.parse("2001:db8::7")!])
        case "office.internal": .success([[198, 51, 100, 9]])
        default: .failure(ACL.LookupFailure(reason: "Name or service not known"))
        }
    }

    static func loadACL(_ entries: String) -> Result<VCLProgram, VCLProgram.LoadError> {
        let compilation = VCLCompiler.compile(path: "/t.vcl") { _ in
            "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; }\nacl a { \(entries) }\n"
                + "sub vcl_recv { if (client.ip ~ a) { return (pass); } }\n"
        }
        return VCLProgram.load(compilation, resolveName: fakeResolver)
    }

    @Test func badACLEntriesAreLoadErrors() {
        guard case .failure(let error) = Self.loadACL("\"nowhere.internal\"; \"10.0.0.0\"/33;") else {
            Issue.record("expected the ACL to be rejected"); return
        }
        #expect(error.rendered.contains("'nowhere.internal' is not an address and does not resolve: Name or service not known"))
        #expect(error.rendered.contains("( \"nowhere.internal\" )"))  // the hint: make it optional
        #expect(error.rendered.contains("/t.vcl:3:"))
        #expect(error.rendered.contains("prefix length /33"))
    }

    /// As in Varnish: a name is looked up when the VCL loads and each of its addresses is an
    /// entry; in parentheses, one that does not resolve is skipped with a warning; numeric forms
    /// getaddrinfo reads ("127.1") are addresses; the prefix may be inside the string; bits past
    /// the prefix are a warning, not an error.
    @Test(arguments: [
        ("10.1.2.3", true), ("2001:db8::7", true), ("198.51.100.9", false), ("127.0.0.5", true),
        ("192.168.7.1", true), ("192.168.8.1", false), ("10.1.2.4", false), ("172.17.200.1", true),
        ("172.18.0.1", false),
    ])
    func aclEntriesMayBeNames(address: String, allowed: Bool) throws {
        let entries = #"""
            "app.internal"; ! ( "office.internal" ); ( "gone.internal" ); "127.1"/8; "192.168.7.9"/24;
            "172.17.0.0/16";
            """#
        let loaded = Self.loadACL(entries)
        guard case .success(let program) = loaded else {
            if case .failure(let error) = loaded { Issue.record("not loaded: \(error.rendered)") }
            return
        }
        #expect(program.warnings.map(\.message) == [
            "'gone.internal' is skipped: Name or service not known",
            "'127.1'/8 has bits set past the prefix; it matches 127.0.0.0/8",
            "'192.168.7.9'/24 has bits set past the prefix; it matches 192.168.7.0/24",
        ])
        #expect(program.acls["a"]?.matches(address) == allowed)
    }

    @Test func stdFunctions() throws {
        #expect(try evaluate("std.querysort(\"/p?b=2&a=1&&c=3&a=0\")") == "/p?a=0&a=1&b=2&c=3")
        // As Varnish 7.1 answered: the '?' stays, a single parameter is left alone.
        for (url, sorted) in [("/p?", "/p?"), ("/p?&&", "/p?"), ("/p?b&a", "/p?a&b"), ("/p", "/p"),
                              ("/p?a=1#frag", "/p?a=1#frag"), ("/p?z", "/p?z")] {
            #expect(try evaluate("std.querysort(\"\(url)\")") == sorted, "\(url)")
        }
        #expect(try evaluate("\"\" + std.integer(\"42\", 0)") == "42")
        #expect(try evaluate("\"\" + std.integer(\"x\", 7)") == "7")
        #expect(try evaluate("\"\" + std.duration(\"1.5m\", 0s)") == "90.000")
        #expect(try evaluate("\"\" + std.duration(\"soon\", 3s)") == "3.000")
        #expect(try evaluate("std.tolower(\"AbC\") + std.toupper(\"x\")") == "abcX")
        #expect(try evaluate("\"\" + std.healthy(default)") == "true")
        #expect(try evaluate("\"\" + std.ip(\"bogus\", \"127.0.0.2\")") == "127.0.0.2")
        #expect(try evaluate("std.strstr(\"hello world\", \"wor\")") == "world")
        #expect(try evaluate("\"\" + std.random(5, 5)") == "5.000")
        let random = try #require(Double(try evaluate("\"\" + std.random(1, 2)") ?? ""))
        #expect(random >= 1 && random <= 2)  // printed with three decimals: 1.9996 prints as 2.000
        var context = TestContext()
        context.fields[.req] = HTTPFields([("Cookie", "a=1"), ("Cookie", "b=2")])
        let program = try load("sub vcl_recv { std.collect(req.http.Cookie, \"; \"); std.log(\"seen\"); }")
        _ = program.run("vcl_recv", &context)
        #expect(context.fields[.req]?.values("Cookie") == ["a=1; b=2"])
        #expect(context.logged == ["seen"])
    }

    /// The rest of vmod_std, each answer as Varnish 7.1 gave it for the same expression.
    @Test(arguments: [
        ("std.real2integer(1.5, 0)", "2"), ("std.real2integer(-2.5, 0)", "-3"), ("std.round(2.5)", "3.000"),
        ("std.real2time(1.5, now)", "Thu, 01 Jan 1970 00:00:01 GMT"),
        ("std.real2time(-2.5, now)", "Wed, 31 Dec 1969 23:59:58 GMT"),
        ("std.time2integer(std.real2time(std.real(\"1700000000.75\", 0.0), now), 0)", "1700000001"),
        ("std.time2real(std.real2time(-0.5, now), 0.0)", "-0.500"),
        ("std.bytes(\"1.5MB\", 3B)", "1572864"), ("std.bytes(\"3 KB\", 3B)", "3072"), ("std.bytes(\" 5k \", 3B)", "5120"),
        ("std.bytes(\"1kb\", 3B)", "1024"), ("std.bytes(\"12\", 3B)", "12"), ("std.bytes(\"1.5\", 3B)", "3"),
        ("std.bytes(\"5KiB\", 3B)", "3"), ("std.bytes(\"-5KB\", 3B)", "3"), ("std.bytes(\"0x10\", 3B)", "3"),
        ("std.strftime(std.real2time(1700000000.0, now), \"%Y-%m-%d %H:%M:%S %a %j\")", "2023-11-14 22:13:20 Tue 318"),
        ("std.fnmatch(\"*.js\", \"/a/b.js\")", "false"), ("std.fnmatch(\"*.js\", \"/a/b.js\", pathname = false)", "true"),
        ("std.fnmatch(\"*\", \".hidden\")", "true"), ("std.fnmatch(\"*\", \".hidden\", period = true)", "false"),
        ("std.fnmatch(\"\\*\", \"*\")", "true"), ("std.fnmatch(\"\\*\", \"*\", noescape = true)", "false"),
        ("std.file_exists(\"/\")", "true"), ("std.file_exists(\"/no/such/path\")", "false"),
        ("std.getenv(\"PATH\") != \"\"", "true"), ("std.getenv(\"SHELLAC_NO_SUCH_VARIABLE\") + \"-\"", "-"),
        ("std.port(std.ip(\"10.0.0.1:81\", \"192.0.2.1\"))", "81"),
        ("std.port(std.ip(\"[::1]\", \"192.0.2.1\", p = \"8080\"))", "8080"),
        ("std.port(std.ip(\"bogus\", \"192.0.2.1\"))", "80"), ("std.port(client.ip)", "5555"),
        ("std.real(\"1.23456\", 0.0)", "1.234"), ("std.real(\"3.9999999\", 0.0)", "3.999"),
        ("std.real(\"+1.5\", 7.0)", "7.000"), ("std.real(\"1e3\", 7.0)", "7.000"),
        ("std.real(\"1234567890123.45\", 7.0)", "7.000"), ("std.integer(\"-0.0009\", 7)", "0"),
        ("std.integer(\"2.5\", 7)", "7"), ("std.integer(\"999999999999999\", 7)", "999999999999999"),
        ("std.integer(\"99999999999999999\", 7)", "7"), ("std.duration(\"2 s\", 7s)", "2.000"),
        ("std.duration(\"2S\", 7s)", "7.000"), ("std.duration(\"2.5555m\", 7s)", "153.300"),
        ("std.duration(\"1e3s\", 7s)", "7.000"), ("std.duration(\"2\", 7s)", "7.000"),
    ])
    func stdFunctionsAnswerAsVarnishDoes(expression: String, expected: String) throws {
        var context = TestContext()
        context.values[.clientIP] = .ip("192.0.2.7", port: 5555)
        #expect(try evaluate("\"\" + " + expression, context) == expected)
    }

    /// std.fileread reads a file once per loaded VCL, as Varnish does; "" when it cannot.
    @Test func fileReadIsReadOnce() throws {
        let path = NSTemporaryDirectory() + "shellac-fileread-\(UInt32.random(in: 0...UInt32.max))"
        try "maintenance".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let program = try load("sub vcl_recv { set req.http.X = std.fileread(\"\(path)\") + \"|\" + std.fileread(\"/no/such/file\"); }")
        var context = TestContext()
        _ = program.run("vcl_recv", &context)
        #expect(context.fields[.req]?["X"] == "maintenance|")
        try "changed".write(toFile: path, atomically: true, encoding: .utf8)
        _ = program.run("vcl_recv", &context)
        #expect(context.fields[.req]?["X"] == "maintenance|")
    }

    @Test func stdNamedArgumentsAreChecked() {
        let compilation = VCLCompiler.compile(path: "/t.vcl") { _ in
            "vcl 4.1;\nimport std;\nbackend default { .host = \"127.0.0.1\"; }\n"
                + "sub vcl_recv { if (std.fnmatch(\"*\", req.url, nope = true)) { return (pass); } }\n"
        }
        guard case .failure(let error) = VCLProgram.load(compilation) else { Issue.record("expected an error"); return }
        #expect(error.rendered.contains("std.fnmatch has no parameter 'nope'"))
        #expect(error.rendered.contains("its parameters: pattern, subject, pathname, noescape, period"))
    }

    /// vmod_cookie, each answer as Varnish 7.1's for the same VCL and Cookie header.
    @Test(arguments: [
        ("_ga=GA1.2; sessionid=abc; csrftoken=x1; _gid=z; dup=1; dup=2",
         "_ga=GA1.2; sessionid=abc; csrftoken=x1; _gid=z; dup=2;|abc|[]|true|GA1.2|sessionid=abc; csrftoken=x1; dup=2;"
            + "|csrftoken=x1; _gid=z; dup=2;|sessionid=abc; csrftoken=x1;|sessionid=abc; csrftoken=x1; dup=2;"
            + "|sessionid=abc; csrftoken=changed; new=v;|[]"),
        ("a=1;b=2;;c", "a=1; b=2;||[]|false|||a=1; b=2;||a=1; b=2;|a=1; b=2; new=v; csrftoken=changed;|[]"),
        (" sessionid = spaced ; x=", "sessionid = spaced ;||[]|false|||sessionid = spaced ;|sessionid = spaced ;"
            + "|sessionid = spaced ;|sessionid = spaced ; new=v; csrftoken=changed;|[]"),
        ("novalue; =empty; k=v=w", "novalue; =empty; k=v=w;||[]|false|||novalue; =empty; k=v=w;|"
            + "|novalue; =empty; k=v=w;|novalue; =empty; k=v=w; new=v; csrftoken=changed;|[]"),
    ])
    func cookieModuleAnswersAsVarnishDoes(header: String, expected: String) throws {
        let program = try load("""
            import cookie;
            sub vcl_recv {
                cookie.parse(req.http.Cookie);
                set req.http.X = cookie.get_string() + "|" + cookie.get("sessionid") + "|[" + cookie.get("nope") + "]|"
                    + cookie.isset("csrftoken") + "|" + cookie.get_re("^_g") + "|";
                cookie.keep("sessionid,csrftoken,dup");
                set req.http.X = req.http.X + cookie.get_string() + "|";
                cookie.parse(req.http.Cookie);
                cookie.filter("_ga, sessionid");
                set req.http.X = req.http.X + cookie.get_string() + "|";
                cookie.parse(req.http.Cookie);
                cookie.keep_re("^(session|csrf)");
                set req.http.X = req.http.X + cookie.get_string() + "|";
                cookie.parse(req.http.Cookie);
                cookie.filter_re("^_");
                set req.http.X = req.http.X + cookie.get_string() + "|";
                cookie.set("new", "v");
                cookie.set("csrftoken", "changed");
                cookie.delete("dup");
                set req.http.X = req.http.X + cookie.get_string() + "|";
                cookie.clean();
                set req.http.X = req.http.X + "[" + cookie.get_string() + "]";
            }
            """)
        var context = TestContext()
        context.fields[.req] = HTTPFields([("Cookie", header)])
        _ = program.run("vcl_recv", &context)
        #expect(context.fields[.req]?["X"] == expected)
    }

    @Test func cookieModuleIsChecked() {
        for (text, message) in [("sub vcl_recv { cookie.clean(); }", "'cookie' is used without 'import cookie;'"),
                                ("import cookie; sub vcl_recv { cookie.eat(); }", "unknown function 'cookie.eat'"),
                                ("import cookie; sub vcl_recv { cookie.keep_re(\"(\"); }", "invalid regular expression")] {
            let compilation = VCLCompiler.compile(path: "/t.vcl") { _ in
                "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; }\n" + text
            }
            #expect(compilation.diagnostics.contains { $0.severity == .error && $0.message.hasPrefix(message) }, "\(text)")
        }
    }

    /// std.ip as Varnish 7.1 answered each of these (its fallback 192.0.2.1): every numeric form
    /// getaddrinfo reads, an optional port, the address printed in its usual form, and names from
    /// the hosts file only when resolving is allowed.
    @Test(arguments: [
        ("127.1", "127.0.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1", "127.0.0.1"), ("127.0.0.001", "127.0.0.1", "127.0.0.1"),
        ("1.2.3", "1.2.0.3", "1.2.0.3"), ("4294967295", "255.255.255.255", "255.255.255.255"),
        (" 10.0.0.1 ", "10.0.0.1", "10.0.0.1"), ("10.0.0.1 80", "10.0.0.1", "10.0.0.1"),
        ("1.2.3.4:80", "1.2.3.4", "1.2.3.4"), ("1.2.3.4:", "1.2.3.4", "1.2.3.4"),
        ("[1.2.3.4]", "1.2.3.4", "1.2.3.4"), ("[::1]:8080", "::1", "::1"),
        ("2001:DB8::1", "2001:db8::1", "2001:db8::1"), ("0:0:0:0:0:0:0:1", "::1", "::1"),
        ("::ffff:1.2.3.4", "1.2.3.4", "1.2.3.4"), ("::1:80", "::0.1.0.128", "::0.1.0.128"),
        ("fe80::1%lo", "fe80::1%lo", "fe80::1%lo"),
        ("localhost", "127.0.0.1", "192.0.2.1"), ("LOCALHOST:80", "127.0.0.1", "192.0.2.1"),
        ("no-such-name.invalid", "192.0.2.1", "192.0.2.1"), ("1.2.3.256", "192.0.2.1", "192.0.2.1"),
        ("1.2.3.4:abc", "192.0.2.1", "192.0.2.1"), ("10.0.0.1, 10.0.0.2", "192.0.2.1", "192.0.2.1"),
        ("[::1", "192.0.2.1", "192.0.2.1"), ("[::1]x", "192.0.2.1", "192.0.2.1"), ("", "192.0.2.1", "192.0.2.1"),
    ])
    func stdIP(text: String, resolved: String, numericOnly: String) throws {
        var context = TestContext()
        context.fields[.req] = HTTPFields([("In", text)])
        let program = try load("""
            sub vcl_recv {
                set req.http.A = std.ip(req.http.In, "192.0.2.1");
                set req.http.B = std.ip(req.http.In, "192.0.2.1", false);
            }
            """)
        _ = program.run("vcl_recv", &context)
        // "localhost" is in every hosts file this runs on; the test reads the file to be sure.
        let listsLocalhost = IPConversion.hostsFileNames().contains("localhost")
        if !text.lowercased().hasPrefix("localhost") || listsLocalhost {
            #expect(context.fields[.req]?["A"] == resolved)
        }
        #expect(context.fields[.req]?["B"] == numericOnly)
    }

    @Test func hostsFileNamesAreReadWithoutComments() throws {
        let path = NSTemporaryDirectory() + "shellac-hosts-\(UInt32.random(in: 0...UInt32.max))"
        let text = "# comment line\n127.0.0.1\tLocalHost loop # trailing comment\n::1 ip6-loopback\n\n10.0.0.9\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(IPConversion.hostsFileNames(path: path) == ["localhost", "loop", "ip6-loopback"])
    }

    /// Conditions on a STRING variable and `set X = std.querysort(X)` read the variable in place
    /// (compiled apart from the general forms): they must answer as the general forms do.
    @Test(arguments: [
        ("PURGE", "/p?b=2&a=1", "equal not-get match sorted-now /p?a=1&b=2"),
        ("GET", "/p?a=1&b=2", "not-purge not-get-false no-match sorted-already /p?a=1&b=2"),
        ("GET", "/static/x.css?", "not-purge not-get-false match sorted-already /static/x.css?"),
    ])
    func stringVariableConditionsAndQuerySortInPlace(method: String, url: String, expected: String) throws {
        let program = try load("""
            sub vcl_recv {
                set req.http.R = "";
                if (req.method == "PURGE") { set req.http.R = "equal"; } else { set req.http.R = "not-purge"; }
                if (req.method != "GET") { set req.http.R += " not-get"; } else { set req.http.R += " not-get-false"; }
                if (req.url ~ "^/(p|static)/?[a-z.]*\\?b=" || req.url !~ "a=1") { set req.http.R += " match"; }
                else { set req.http.R += " no-match"; }
                set req.http.Before = req.url;
                set req.url = std.querysort(req.url);
                if (req.url == req.http.Before) { set req.http.R += " sorted-already"; }
                elsif (req.url ~ "\\?") { set req.http.R += " sorted-now"; } else { set req.http.R += " no-query"; }
                set req.http.R += " " + req.url;
                return (hash);
            }
            """)
        var context = TestContext()
        context.values[.reqMethod] = .string(method)
        context.values[.reqURL] = .string(url)
        _ = program.run("vcl_recv", &context)
        #expect(context.fields[.req]?["R"] == expected)
    }

    /// `VARIABLE op NUMBER` is compiled apart (`obj.hits > 0`, `obj.ttl <= 10s`): it must answer
    /// as the general form (`VARIABLE op NUMBER + 0`) does, for every operator, below, at and above
    /// the number.
    @Test(arguments: [0, 1, 2])
    func numberVariableComparisonsAnswerAsTheGeneralForm(hits: Int) throws {
        let operators = ["==", "!=", "<", ">", "<=", ">="]
        var body = ""
        for (index, op) in operators.enumerated() {
            body += "if (obj.hits \(op) 1) { set resp.http.A\(index) = \"y\"; } else { set resp.http.A\(index) = \"n\"; }\n"
            body += "if (obj.hits \(op) 1 + 0) { set resp.http.B\(index) = \"y\"; } else { set resp.http.B\(index) = \"n\"; }\n"
            body += "if (obj.ttl \(op) 10s) { set resp.http.T\(index) = \"y\"; } else { set resp.http.T\(index) = \"n\"; }\n"
        }
        let program = try load("sub vcl_deliver {\n\(body)}")
        var context = TestContext()
        context.values[.objHits] = .int(hits)
        context.values[.objTTL] = .duration(Double(hits) * 10)
        _ = program.run("vcl_deliver", &context)
        let fields = try #require(context.fields[.resp])
        let expected = [hits == 1, hits != 1, hits < 1, hits > 1, hits <= 1, hits >= 1].map { $0 ? "y" : "n" }
        #expect(operators.indices.map { fields["A\($0)"] } == expected)
        #expect(operators.indices.map { fields["B\($0)"] } == expected)
        #expect(operators.indices.map { fields["T\($0)"] } == expected)
    }

    /// Strings compare byte for byte, as Varnish's do: texts of one length and different bytes
    /// differ, and a text is not equal to a canonically equivalent one spelled otherwise.
    @Test func stringsCompareByteForByte() throws {
        let program = try load("""
            sub vcl_recv {
                if (req.method == "BAN") { set req.http.A = "y"; } else { set req.http.A = "n"; }
                if (req.method == "GET") { set req.http.B = "y"; } else { set req.http.B = "n"; }
                if (req.url == "/\u{212A}") { set req.http.C = "y"; } else { set req.http.C = "n"; }
                if (req.http.Missing == req.http.Absent) { set req.http.D = "y"; } else { set req.http.D = "n"; }
            }
            """)
        var context = TestContext()
        context.values[.reqMethod] = .string("GET")
        context.values[.reqURL] = .string("/K")
        _ = program.run("vcl_recv", &context)
        let fields = try #require(context.fields[.req])
        #expect([fields["A"], fields["B"], fields["C"], fields["D"]] == ["n", "y", "n", "y"])
    }

    @Test func headerReadsFindEverySpellingAndSetsKeepTheirs() throws {
        #expect(Lowering.usualSpelling("x-forwarded-for") == "X-Forwarded-For")
        #expect(Lowering.usualSpelling("host") == "Host" && Lowering.usualSpelling("x-Cache") == "x-Cache")
        for spelling in ["HOST", "host", "Host", "hOsT"] {
            var context = TestContext()
            context.fields[.req] = HTTPFields([(spelling, "example.com")])
            let program = try load("""
                sub vcl_recv { if (req.http.host) { set req.http.x-seen = req.http.host + "," + req.http.HOST; }
                return (hash); }
                """)
            _ = program.run("vcl_recv", &context)
            #expect(context.fields[.req]?.fields.last?.name == "x-seen", "a set header keeps the VCL's spelling")
            #expect(context.fields[.req]?["X-Seen"] == "example.com,example.com", "\(spelling)")
        }
    }

    @Test func subroutinesRunInSourceOrderAndCustomOnesReturn() throws {
        let program = try load("""
        sub mark { set req.http.Trail = req.http.Trail + "m"; if (req.url == "/early") { return; } \
        set req.http.Trail = req.http.Trail + "M"; }
        sub vcl_recv { set req.http.Trail = "1"; call mark; }
        sub vcl_recv { set req.http.Trail = req.http.Trail + "2"; if (req.url == "/stop") { return (pass); } }

        """)
        var context = TestContext()
        context.values[.reqMethod] = .string("GET")
        context.fields[.req] = HTTPFields([("Host", "h")])
        context.values[.reqProto] = .string("HTTP/1.1")
        context.values[.reqURL] = .string("/early")
        #expect(program.run("vcl_recv", &context) == .action("hash", []), "falls through to the builtin vcl_recv")
        #expect(context.fields[.req]?["Trail"] == "1m2")
        context.values[.reqURL] = .string("/stop")
        #expect(program.run("vcl_recv", &context) == .action("pass", []))
        #expect(context.fields[.req]?["Trail"] == "1mM2")
    }

    @Test func hashDataAndSyntheticAndBan() throws {
        let program = try load("""
        sub vcl_hash { hash_data(req.url); hash_data("x"); return (lookup); }
        sub vcl_synth { synthetic("<p>" + resp.status + "</p>"); return (deliver); }
        sub vcl_recv { if (std.ban("nonsense")) { return (pass); } ban("req.url ~ ^/a"); \
        set req.http.E = std.ban_error(); return (hash); }

        """)
        var context = TestContext()
        context.values[.reqURL] = .string("/u")
        #expect(program.run("vcl_hash", &context) == .action("lookup", []))
        #expect(context.hashed == ["/u", "x"])
        context.values[.respStatus] = .int(404)
        _ = program.run("vcl_synth", &context)
        #expect(context.body == "<p>404</p>")
        #expect(program.run("vcl_recv", &context) == .action("hash", []))
        #expect(context.bans == ["req.url ~ ^/a"])
        #expect(context.fields[.req]?["E"] == "")
    }

    /// std.ban_error() answers for the last std.ban() of the same request, in any subroutine
    /// after it (Varnish keeps it per task), until a later ban is accepted.
    @Test func banErrorLastsForTheRequest() throws {
        let program = try load("""
        sub vcl_recv { std.ban(req.http.Ban); return (hash); }
        sub vcl_deliver { set resp.http.E = std.ban_error(); return (deliver); }

        """)
        var context = TestContext()
        context.fields[.req] = HTTPFields([("Ban", "nonsense")])
        _ = program.run("vcl_recv", &context)
        _ = program.run("vcl_deliver", &context)
        #expect(context.fields[.resp]?["E"] == "not a ban expression")
        context.fields[.req] = HTTPFields([("Ban", "req.url ~ ^/a")])
        _ = program.run("vcl_recv", &context)
        _ = program.run("vcl_deliver", &context)
        #expect(context.fields[.resp]?["E"] == "")
        #expect(context.bans == ["req.url ~ ^/a"])
    }

    @Test func tagPurgesReachTheContext() throws {
        let program = try load("""
        import xkey;
        import shellac;
        sub vcl_recv {
            set req.http.A = "" + xkey.purge("post-1 post-2");
            set req.http.B = "" + shellac.softpurge_tags(req.http.Tags);
            return (hash);
        }

        """)
        var context = TestContext()
        context.fields[.req] = HTTPFields([("Tags", "home")])
        _ = program.run("vcl_recv", &context)
        #expect(context.fields[.req]?["A"] == "20")
        #expect(context.fields[.req]?["B"] == "10")
        #expect(context.purged.map(\.tags) == [["post-1", "post-2"], ["home"]])
        #expect(context.purged.map(\.soft) == [false, true])
    }

    /// Nothing VCL sets can split a message: a line break (or another control character) in a
    /// header value, a status reason, a URL or a method fails the subroutine, as Varnish fails a
    /// header ("Bad header"); Varnish itself still writes such a reason, URL or method out.
    @Test(arguments: [
        ("set req.http.X = {\"a\nInjected: 1\"};", "Bad header X: its value holds a control character"),
        ("set req.http.X = \"a\" + std.fileread(\"/dev/null\") + {\"\r\"};",
         "Bad header X: its value holds a control character"),
        ("set req.url = \"/a b\";", "Bad req.url: a URL cannot hold a space or a control character"),
        ("set req.method = \"GET /x HTTP/1.1\";", "Bad req.method: not a method"),
        ("return (synth(200, {\"OK\nInjected: 1\"}));", "Bad reason in return(synth): it holds a control character"),
        ("std.collect(req.http.Cookie, {\"\n\"});", "Bad header Cookie: std.collect's separator holds a control character"),
        // Past vcl_value_max (64 KiB): 16 bytes doubled thirteen times.
        (String(repeating: "set req.http.Y = req.http.Y + req.http.Y; ", count: 13),
         "Bad header Y: longer than vcl_value_max (65536 bytes)"),
    ])
    func valuesThatWouldSplitAMessageFail(statement: String, reason: String) throws {
        let program = try load("sub vcl_recv { \(statement) }")
        var context = TestContext()
        context.fields[.req] = HTTPFields([("Cookie", "a=1"), ("Cookie", "b=2"), ("Y", "0123456789abcdef")])
        #expect(program.run("vcl_recv", &context) == .failed(reason))
        // A tab is allowed in a value.
        let tab = try load("sub vcl_recv { set req.http.X = \"a\tb\"; return (hash); }")
        #expect(tab.run("vcl_recv", &context) == .action("hash", []))
    }

    @Test func runtimeFailuresFailTheSubroutine() throws {
        let program = try load("sub vcl_recv { set req.http.X = \"\" + (1 / (req.restarts)); return (hash); }")
        var context = TestContext()
        context.values[.reqRestarts] = .int(0)
        #expect(program.run("vcl_recv", &context) == .failed("division by zero"))
        let failing = try load("sub vcl_recv { return (fail); }")
        #expect(failing.run("vcl_recv", &context).name == "fail")
        // Varnish 6+ takes a reason, which is logged (Drupal's varnish_purge VCL uses it).
        let withReason = try load("sub vcl_backend_error { return (fail(\"Service \" + \"unavailable\")); }")
        #expect(withReason.run("vcl_backend_error", &context) == .failed("Service unavailable"))
    }

    @Test func returnArgumentsAreEvaluated() throws {
        let program = try load("sub vcl_recv { return (synth(700 + 1, \"Go \" + req.url)); }")
        var context = TestContext()
        context.values[.reqURL] = .string("/x")
        #expect(program.run("vcl_recv", &context) == .action("synth", [.int(701), .string("Go /x")]))
    }

    @Test func trivialSubroutinesAreKnown() throws {
        let program = try load("sub vcl_deliver { set resp.http.X = \"1\"; }")
        #expect(program.isTrivial(.hit))
        #expect(program.isTrivial(.miss))
        #expect(!program.isTrivial(.deliver))
        #expect(!program.isTrivial(.recv))
    }
}

@Suite struct DirectorTests {
    let declarations = """
    backend a { .host = "127.0.0.1"; .port = "8001"; }
    backend b { .host = "127.0.0.1"; .port = "8002"; }
    backend c { .host = "127.0.0.1"; .port = "8003"; }
    sub vcl_init {
        new rr = directors.round_robin(); rr.add_backend(a); rr.add_backend(b);
        new fb = directors.fallback(); fb.add_backend(a); fb.add_backend(b); fb.add_backend(c);
        new h = directors.hash(); h.add_backend(a, 1); h.add_backend(b, 1); h.add_backend(c, 1);
        new w = directors.random(); w.add_backend(a, 0); w.add_backend(c, 5);
        new nested = directors.fallback(); nested.add_backend(rr.backend()); nested.add_backend(c);
    }

    """

    /// The backend a fetch would go to with `expression` as req.backend_hint ("" for none).
    func pick(_ expression: String, sick: Set<String> = [], url: String = "/") throws -> String {
        let program = try load(declarations + "sub vcl_recv { set req.backend_hint = \(expression); return (hash); }")
        var context = TestContext()
        context.sick = sick
        context.values[.reqURL] = .string(url)
        _ = program.run("vcl_recv", &context)
        guard case .backend(let name?)? = context.values[.reqBackendHint] else { return "" }
        return program.resolve(name, health: context) ?? ""
    }

    /// As in Varnish, `d.backend()` is the director, picked from when a fetch starts; the hash
    /// director picks at once, by its key.
    @Test func directorsArePickedFromWhenTheFetchStarts() throws {
        #expect(try evaluate("\"\" + rr.backend()", declarations: declarations) == "rr")
        #expect(try evaluate("\"\" + fb.backend()", declarations: declarations) == "fb")
        #expect(["a", "b", "c"].contains(try evaluate("\"\" + h.backend(req.url)", declarations: declarations)))
    }

    @Test func roundRobinAlternatesAndSkipsSick() throws {
        let program = try load(declarations + "sub vcl_recv { set req.backend_hint = rr.backend(); return (hash); }")
        var seen: [String] = []
        for _ in 0..<4 {
            var context = TestContext()
            _ = program.run("vcl_recv", &context)
            guard case .backend(let name?)? = context.values[.reqBackendHint] else { continue }
            seen.append(program.resolve(name, health: context) ?? "")
        }
        #expect(seen.count == 4 && Set(seen) == ["a", "b"])
        #expect(seen.filter { $0 == "a" }.count == 2)
        #expect(try pick("rr.backend()", sick: ["a"]) == "b")
        #expect(try pick("rr.backend()", sick: ["a", "b"]) == "")
    }

    @Test func fallbackTakesTheFirstHealthy() throws {
        #expect(try pick("fb.backend()") == "a")
        #expect(try pick("fb.backend()", sick: ["a"]) == "b")
        #expect(try pick("fb.backend()", sick: ["a", "b"]) == "c")
    }

    @Test func hashIsStickyPerKey() throws {
        let first = try pick("h.backend(req.url)", url: "/user/1")
        for _ in 0..<5 { #expect(try pick("h.backend(req.url)", url: "/user/1") == first) }
        var spread: Set<String?> = []
        for n in 0..<30 { spread.insert(try pick("h.backend(req.url)", url: "/user/\(n)")) }
        #expect(spread.count == 3, "keys spread over every backend")
    }

    /// The hash director sends a key where Varnish's does (SHA-256 of the key): these are the
    /// backends Varnish 7.1 chose for them with the same two members, weights and health.
    @Test func hashPicksAsVarnishDoes() throws {
        let twoMembers = """
        backend a { .host = "127.0.0.1"; .port = "8001"; }
        backend b { .host = "127.0.0.1"; .port = "8002"; }
        sub vcl_init { new h = directors.hash(); h.add_backend(a, 1); h.add_backend(b, 1); }

        """
        let varnish = ["/h/1": "a", "/h/2": "a", "/h/abc": "b", "/h/user-1": "b", "/h/user-2": "a",
                       "/h/user-3": "a", "/h/x": "a", "/h/yy": "b", "/h/zzz": "a", "/h/0": "a"]
        for (key, backend) in varnish {
            var context = TestContext()
            context.values[.reqURL] = .string(key)
            #expect(try evaluate("\"\" + h.backend(req.url)", context, declarations: twoMembers) == backend, "\(key)")
        }
    }

    @Test func randomHonoursWeightsAndNestingResolves() throws {
        for _ in 0..<10 { #expect(try pick("w.backend()") == "c", "a has weight 0") }
        #expect(try pick("nested.backend()", sick: ["a", "b"]) == "c")
        #expect(["a", "b"].contains(try pick("nested.backend()")))
        var allSick = TestContext()
        allSick.sick = ["a", "b", "c"]
        #expect(try evaluate("\"\" + std.healthy(fb.backend())", allSick, declarations: declarations) == "false")
        #expect(try evaluate("\"\" + std.healthy(nested.backend())", declarations: declarations) == "true")
    }
}

@Suite struct QuerySortTests {
    /// The plain definition, Varnish's: a query without '&' as it is; else split on '&', drop
    /// empty parameters, stable sort of the whole parameters compared byte by byte up to the end
    /// of the shorter (equal when one begins the other), the '?' kept.
    static func reference(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        let query = url[url.index(after: question)...]
        guard query.contains("&") else { return url }  // one parameter: as it is
        let parameters = query.split(separator: "&").map(String.init)
        let sorted = parameters.enumerated().sorted { a, b in
            let common = zip(a.element.utf8, b.element.utf8).first { $0 != $1 }
            guard let (x, y) = common else { return a.offset < b.offset }
            return x < y
        }
        return url[..<question] + "?" + sorted.map(\.element).joined(separator: "&")
    }

    /// `count` URLs of seeded random queries: up to `most` parameters named from `names`, some with
    /// a value (`valuePieces` "v=" pieces and a number before it, at random up to that many).
    static func seededURLs(seed: UInt64, count: Int, names: [String], most: Int, valuePieces: Int) -> [String] {
        var seed = seed
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33) % n
        }
        return (0..<count).map { _ in
            var url = "/p"
            if next(4) > 0 {
                url += "?"
                for index in 0..<next(most + 1) {
                    if index > 0 { url += "&" }
                    url += names[next(names.count)]
                    if next(3) > 0 { url += "=" + String(repeating: "v=", count: next(valuePieces + 1)) + String(next(1000)) }
                }
            }
            return url
        }
    }

    @Test func agreesWithThePlainDefinitionOnSeededQueries() {
        let names = ["a", "b", "ab", "utm_source", "id", "", "Z", "é"]
        for url in Self.seededURLs(seed: 42, count: 2000, names: names, most: 5, valuePieces: 0) {
            #expect(StdLibrary.querysort(url) == Self.reference(url), "\(url)")
        }
    }

    /// The check that lets a sorted query through untouched says yes exactly when sorting would
    /// change nothing.
    @Test func alreadySortedIsRecognisedExactly() {
        let names = ["a", "b", "ab", "abcdefghij", "abcdefghik", "id", "", "&", "=", "é"]
        var sortedSeen = 0
        for url in Self.seededURLs(seed: 7, count: 4000, names: names, most: 6, valuePieces: 3) {
            let unchanged = Self.reference(url) == url
            if unchanged { sortedSeen += 1 }
            #expect(StdLibrary.isSortedQuery(url) == unchanged, "\(url)")
        }
        #expect(sortedSeen > 400)
    }
}
