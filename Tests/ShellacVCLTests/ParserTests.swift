// The VCL parser: real-world VCL parses cleanly into the expected tree; errors are all reported
// with file:line:col, the line and a caret; Varnish 3 constructs get their VCL 4 spelling.

import Testing
@testable import ShellacVCL

func parse(_ text: String) -> (VCLSource, [Diagnostic], SourceFile) {
    let file = SourceFile(name: "default.vcl", text: text)
    let (source, diagnostics) = Parser.parse(file)
    return (source, diagnostics, file)
}

/// A VCL of the kind WordPress and Django sites run on Varnish 4.
let realWorld = #"""
vcl 4.1;
import std;
import directors;

probe healthz {
    .url = "/health";
    .interval = 5s; .timeout = 2s; .window = 8; .threshold = 3; .initial = 2;
    .expected_response = 200;
}

backend app1 { .host = "127.0.0.1"; .port = "8000"; .probe = healthz; .first_byte_timeout = 60s; }
backend app2 {
    .host = "127.0.0.1"; .port = "8001";
    .probe = { .request = "GET /health HTTP/1.1" "Host: example.com" "Connection: close"; .interval = 1s; }
}
backend unused none;

acl purgers { "localhost"; "127.0.0.1"; "10.0.0.0"/8; ! "10.0.0.23"; }

sub vcl_init {
    new pool = directors.round_robin();
    pool.add_backend(app1);
    pool.add_backend(app2);
}

sub vcl_recv {
    set req.backend_hint = pool.backend();
    if (req.method == "PURGE") {
        if (!(client.ip ~ purgers)) {
            return (synth(405, "Not allowed."));
        }
        return (purge);
    }
    if (req.url ~ "^/wp-(admin|login)" || req.http.Cookie ~ "wordpress_logged_in_") {
        return (pass);
    } elsif (req.url ~ "\.(png|jpg|css|js)(\?.*)?$") {
        unset req.http.Cookie;
    } else if (req.http.Authorization) {
        return (pass);
    } else {
        set req.http.Cookie = regsuball(req.http.Cookie, "(^|;\s*)(_ga|__utm[a-z]+)=[^;]*", "");
    }
    set req.url = std.querysort(req.url);
    set req.http.host = req.http.host.lower();
    if (req.restarts > 0 && req.http.X-Retry) { call log_retry; }
}

sub log_retry { std.log("retry " + req.restarts); }

sub vcl_hash {
    hash_data(req.url);
    if (req.http.host) { hash_data(req.http.host); } else { hash_data(server.ip); }
    return (lookup);
}

sub vcl_backend_response {
    if (beresp.status >= 500 && bereq.retries < 2) { return (retry); }
    set beresp.ttl = 1s;
    set beresp.grace = 1h;
    set beresp.http.X-Shellac = "ttl " + beresp.ttl;
    if (beresp.http.Set-Cookie) { return (pass(120s)); }
}

sub vcl_deliver {
    if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
    unset resp.http.Via;
}

sub vcl_synth {
    set resp.http.Content-Type = "text/html; charset=utf-8";
    synthetic({"<!DOCTYPE html>
<html><body><h1>"} + resp.status + " " + resp.reason + {"</h1></body></html>"});
    return (deliver);
}
"""#

@Suite struct ParserTests {
    @Test func realWorldVCLParsesWithoutDiagnostics() throws {
        let (source, diagnostics, file) = parse(realWorld)
        #expect(diagnostics.isEmpty, "\(diagnostics.map { $0.rendered(in: file) })")
        #expect(source.version?.text == "4.1")
        let names: [String] = source.declarations.map {
            switch $0 {
            case .include(let path, _): return "include \(path)"
            case .importModule(let name): return "import \(name.text)"
            case .backend(let name, let properties): return "backend \(name.text)\(properties == nil ? " none" : "")"
            case .probe(let name, _): return "probe \(name.text)"
            case .acl(let name, let entries): return "acl \(name.text) \(entries.count)"
            case .subroutine(let name, _): return "sub \(name.text)"
            }
        }
        #expect(names == ["import std", "import directors", "probe healthz", "backend app1", "backend app2",
                          "backend unused none", "acl purgers 4", "sub vcl_init", "sub vcl_recv", "sub log_retry",
                          "sub vcl_hash", "sub vcl_backend_response", "sub vcl_deliver", "sub vcl_synth"])
        guard case .acl(_, let entries) = source.declarations[6] else { Issue.record("acl"); return }
        #expect(entries[2] == ACLEntry(negated: false, address: "10.0.0.0", maskBits: 8, range: entries[2].range))
        #expect(entries[3].negated)
        guard case .backend(_, let properties?) = source.declarations[4],
              case .probe(let probe) = properties[2].value,
              case .strings(let request) = probe[0].value else { Issue.record("inline probe"); return }
        #expect(request == ["GET /health HTTP/1.1", "Host: example.com", "Connection: close"])
    }

    /// Varnish's optional ACL entries: parentheses around the entry, '!' before or inside them.
    @Test func aclEntriesInParentheses() throws {
        let (source, diagnostics, _) = parse(#"acl a { ( "x.internal" ); !( "y.internal" ); ( ! "10.0.0.0"/8 ); "z"; }"#)
        #expect(diagnostics.isEmpty)
        guard case .acl(_, let entries) = source.declarations.first else { Issue.record("acl"); return }
        #expect(entries.map(\.optional) == [true, true, true, false])
        #expect(entries.map(\.negated) == [false, true, true, false])
        #expect(entries[2].maskBits == 8)
        let (_, unclosed, _) = parse(#"acl a { ( "x.internal"; }"#)
        #expect(unclosed.map(\.message).contains { $0.contains("to close the optional ACL entry") })
    }

    @Test func precedenceAndMethods() throws {
        let (source, diagnostics, _) = parse("sub vcl_recv { set req.http.x = a + b == c && !d || e; set req.http.h = req.http.host.lower(); }")
        #expect(diagnostics.isEmpty)
        guard case .subroutine(_, let body) = source.declarations[0],
              case .set(_, _, let value, _) = body.statements[0],
              case .binary("||", let lhs, _, _) = value,
              case .binary("&&", let comparison, let negation, _) = lhs,
              case .binary("==", let sum, _, _) = comparison,
              case .binary("+", _, _, _) = sum,
              case .unary("!", _, _) = negation else {
            Issue.record("unexpected tree"); return
        }
        guard case .set(_, _, let lowered, _) = body.statements[1],
              case .method(let target, let method, _, _) = lowered,
              case .name(let variable) = target else { Issue.record("method call"); return }
        #expect(variable.text == "req.http.host")
        #expect(method.text == "lower")
    }

    @Test func everySyntaxErrorIsReportedWithLocationAndCaret() {
        let text = """
        vcl 4.1;
        sub vcl_recv {
            set req.http.a "missing equals";
            if (req.url ~ "^/x" {
                return (pass);
            }
            set req.http.b = ;
        }
        sub vcl_deliver { unset resp.http.X; }
        """
        let (source, diagnostics, file) = parse(text)
        #expect(diagnostics.count >= 3)
        let rendered = diagnostics[0].rendered(in: file)
        #expect(rendered == """
        default.vcl:3:20: error: expected '=' after 'set req.http.a', found string "missing equals"
            set req.http.a "missing equals";
                           ^~~~~~~~~~~~~~~~
        """)
        #expect(diagnostics[1].rendered(in: file).hasPrefix("default.vcl:4:25: error: expected ')' after the condition"))
        #expect(diagnostics.contains { $0.message.contains("expected a value") })
        // Recovery: the later subroutine is still parsed.
        #expect(source.declarations.contains {
            if case .subroutine(let name, _) = $0 { return name.text == "vcl_deliver" } else { return false }
        })
    }

    @Test(arguments: [
        ("sub vcl_recv { remove req.http.Cookie; }", "'remove' is Varnish 3 syntax", "unset req.http.Cookie;"),
        ("sub vcl_recv { error 404 \"Not found\"; }", "'error' is Varnish 3 syntax", "synth"),
        ("director d round-robin { { .backend = a; } }", "'director' declarations are Varnish 3 syntax", "directors"),
        ("vcl 3.0;", "VCL version 3.0 is not supported", "vcl 4.0;"),
    ])
    func varnish3ConstructsGetAMigrationHint(text: String, message: String, hint: String) {
        let (_, diagnostics, _) = parse(text)
        let diagnostic = diagnostics.first { $0.message.contains(message) }
        #expect(diagnostic != nil, "\(diagnostics.map(\.message))")
        #expect(diagnostic?.hint?.contains(hint) == true)
    }

    /// Nesting thousands deep (parentheses, negations, blocks, calls) or an expression of
    /// thousands of operators is an error with its place, not a stack overflow: every later pass
    /// walks the tree recursively, and a reload of such a file took the daemon down.
    @Test(arguments: [
        ("if (" + String(repeating: "(", count: 20_000) + "req.url" + String(repeating: ")", count: 20_000)
            + " == \"/\") { return (pass); }", "nested more than 100 deep"),
        ("if (" + String(repeating: "!", count: 20_000) + "req.url) { return (pass); }", "nested more than 100 deep"),
        (String(repeating: "if (req.url) { ", count: 5_000) + String(repeating: "}", count: 5_000),
         "nested more than 100 deep"),
        ("set req.http.x = " + String(repeating: "std.tolower(", count: 5_000) + "\"a\""
            + String(repeating: ")", count: 5_000) + ";", "nested more than 100 deep"),
        ("set req.http.x = \"a\"" + String(repeating: " + \"a\"", count: 20_000) + ";",
         "more than 500 operators in one expression"),
    ])
    func deepNestingIsAnErrorNotACrash(body: String, message: String) {
        let (_, diagnostics, file) = parse("sub vcl_recv { \(body) }")
        #expect(diagnostics.map(\.message).contains(message))
        // The one-line file is quoted around the error, not whole.
        #expect(diagnostics.allSatisfy { $0.rendered(in: file).utf8.count < 600 })
    }

    @Test func ordinaryNestingAndLongConcatenationsParse() {
        let body = "set req.http.x = " + String(repeating: "(", count: 60) + "\"a\"" + String(repeating: ")", count: 60)
            + String(repeating: " + req.url", count: 300) + ";"
        let (_, diagnostics, _) = parse("sub vcl_recv { \(body) }")
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
    }

    @Test func loneExpressionsAreRejectedButCallsStand() {
        let (_, diagnostics, _) = parse("sub s { hash_data(req.url); std.log(\"x\"); req.url; }")
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.message == "expected a statement, found an expression")
    }
}

/// Recovery must always make progress: seeded token soup, every run ends with diagnostics.
@Suite struct ParserRecoveryFuzzTests {
    @Test(.timeLimit(.minutes(1))) func randomTokenSoupAlwaysTerminates() {
        let vocabulary = ["vcl", "4.1", ";", "sub", "vcl_recv", "{", "}", "(", ")", "if", "else", "set", "req.http.X",
                          "=", "\"s\"", "return", "hash", "backend", "b", ".host", "acl", "probe", "include",
                          "import", "std", "~", "!", "&&", "10s", "new", "call", "unset", ",", "/*", "*/", "#"]
        var seed: UInt64 = 0x5eed
        func next() -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33)
        }
        for _ in 0..<3000 {
            let count = next() % 40
            let text = (0..<count).map { _ in vocabulary[next() % vocabulary.count] }.joined(separator: " ")
            let (_, diagnostics) = Parser.parse(SourceFile(name: "fuzz.vcl", text: text))
            _ = diagnostics
        }
        // The whole load (checker, lowering, vcl_init) on well-started soup neither hangs nor crashes.
        for _ in 0..<300 {
            let count = next() % 30
            let text = "vcl 4.1; backend default { .host = \"127.0.0.1\"; } "
                + (0..<count).map { _ in vocabulary[next() % vocabulary.count] }.joined(separator: " ")
            _ = VCLProgram.load(VCLCompiler.compile(path: "fuzz.vcl") { _ in text })
        }
    }
}
