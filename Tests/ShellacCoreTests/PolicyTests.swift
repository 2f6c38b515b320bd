// Parameters, the builtin policy (Varnish's builtin VCL) and conditional 304 rules.

import ShellacHTTP
import ShellacStore
import ShellacVCL
import Testing
@testable import ShellacCore

func request(_ method: String = "GET", _ target: String = "/", _ pairs: [(String, String)] = [("Host", "h")],
             framing: BodyFraming = .none) -> HTTPRequestHead {
    HTTPRequestHead(method: method, target: target, version: .http1_1, fields: HTTPFields(pairs), framing: framing)
}

@Suite struct ParametersTests {
    @Test func theFetchLifetimesFollowEveryChange() throws {
        var p = Parameters()
        #expect(p.perRequest.defaultGrace == p["default_grace"] && p.perRequest.backendTimeouts.firstByte == 60)
        try p.set("default_ttl", "2m")
        try p.set(assignment: "between_bytes_timeout=500ms")
        try p.set("uncacheable_ttl", "7")
        try p.set("default_keep", "1h")
        try p.set("connect_timeout", "2s")
        #expect(p.perRequest.defaultTTL == 120 && p.perRequest.backendTimeouts.betweenBytes == 0.5)
        #expect(p.perRequest.backendTimeouts.connect == 2)
        #expect(p.perRequest.uncacheableTTL == 7 && p.perRequest.defaultKeep == 3600)
        #expect(throws: ParameterError.self) { try p.set("default_ttl", "soon") }
        #expect(p.perRequest.defaultTTL == 120)
    }

    @Test func switchesReadOnOrOff() throws {
        var p = Parameters()
        #expect(p.perRequest.gzipSupport, "on by default, as in Varnish")
        try p.set("http_gzip_support", "off")
        #expect(!p.perRequest.gzipSupport)
        #expect(p.formatted("http_gzip_support") == "off")
        try p.set(assignment: "http_gzip_support=true")
        #expect(p.perRequest.gzipSupport)
        do {
            try p.set("http_gzip_support", "maybe")
            Issue.record("accepted 'maybe'")
        } catch {
            #expect(error.description == "parameter 'http_gzip_support': cannot read 'maybe' as on or off")
        }
    }

    @Test func defaultsAndTypedParsing() throws {
        var p = Parameters()
        #expect(p["http_req_size"] == 32 * 1024)
        #expect(p["connect_timeout"] == 3.5)
        #expect(p["default_ttl"] == 0)
        try p.set(assignment: "connect_timeout=500ms")
        try p.set("http_req_size", "64k")
        try p.set("default_ttl", "2m")
        #expect(p["connect_timeout"] == 0.5)
        #expect(p["http_req_size"] == 65536)
        #expect(p["default_ttl"] == 120)
        #expect(Parameters.parseBytes("256m") == 268_435_456)
    }

    @Test func badValuesSayWhatIsWrong() {
        var p = Parameters()
        #expect(throws: ParameterError.self) { try p.set("nope", "1") }
        #expect(throws: ParameterError.self) { try p.set("timeout_idle", "soon") }
        #expect(throws: ParameterError.self) { try p.set("http_max_hdr", "2") }
        #expect(throws: ParameterError.self) { try p.set(assignment: "threads") }
        do {
            try p.set("http_max_hdr", "2")
        } catch {
            #expect(error.description.contains("http_max_hdr"))
            #expect(error.description.contains("outside"))
        }
    }

    @Test func everyParameterIsDescribed() {
        let text = Parameters().describe()
        for definition in Parameters.table {
            #expect(text.contains(definition.name))
            #expect(!definition.help.isEmpty)
        }
    }
}

/// A VCL program: the builtin VCL after `user` (one backend named default).
func program(_ user: String = "") throws -> VCLProgram {
    let text = "vcl 4.1;\nimport std;\nbackend default { .host = \"127.0.0.1\"; .port = \"8000\"; }\n" + user
    let compilation = VCLCompiler.compile(path: "/t/default.vcl") { $0 == "/t/default.vcl" ? text : nil }
    switch VCLProgram.load(compilation) {
    case .success(let program): return program
    case .failure(let error): throw VCLTestError(message: error.rendered)
    }
}

struct VCLTestError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

let builtinProgram = try! program()

/// What vcl_recv (and the flow around it) decided, in words.
func recvDecision(_ head: HTTPRequestHead, program: VCLProgram = builtinProgram) -> String {
    var f = RequestFlow(request: head, addresses: ClientAddresses(client: "127.0.0.9", server: "127.0.0.1"),
                        requestID: "7", program: program, maxWaiters: 10, maxRestarts: 4, now: 0, services: .none)
    switch f.start(now: 0) {
    case .lookup: return "hash"
    case .fetch(let fetch, _): return fetch.mode == .pass ? "pass" : "fetch"
    case .pipe: return "pipe"
    case .purge: return "purge"
    case .synthesize(let response): return "synth(\(response.status))"
    default: return "other"
    }
}

@Suite struct BuiltinRecvTests {
    @Test(arguments: [
        (request("GET"), "hash"),
        (request("HEAD"), "hash"),
        (request("POST"), "pass"),
        (request("DELETE"), "pass"),
        (request("GET", "/", [("Host", "h"), ("Cookie", "a=1")]), "pass"),
        (request("GET", "/", [("Host", "h"), ("Authorization", "Basic x")]), "pass"),
        (request("GET", "/", [("Host", "h")], framing: .contentLength(3)), "pass"),
        (request("BREW"), "pipe"),
        (request("PRI"), "synth(405)"),
        (HTTPRequestHead(method: "GET", target: "/", version: .http1_1, fields: HTTPFields()), "synth(400)"),
        (HTTPRequestHead(method: "GET", target: "/", version: .http1_0, fields: HTTPFields()), "hash"),
    ])
    func decisions(head: HTTPRequestHead, expected: String) {
        #expect(recvDecision(head) == expected)
    }

    @Test func hostIsLowerCasedAndKeyedWithTheURL() {
        var head = request("GET", "/Path", [("Host", "WWW.Example.COM")])
        CorePolicy.prepare(&head)
        #expect(CorePolicy.cacheKey(head, serverAddress: "127.0.0.1") == CacheKey(parts: ["/Path", "www.example.com"]))
        let noHost = HTTPRequestHead(method: "GET", target: "/x", version: .http1_0, fields: HTTPFields())
        #expect(CorePolicy.cacheKey(noHost, serverAddress: "10.1.1.1") == CacheKey(parts: ["/x", "10.1.1.1"]))
        var f = RequestFlow(request: request("GET", "/Path", [("Host", "WWW.Example.COM")]),
                            addresses: ClientAddresses(client: "1.2.3.4", server: "127.0.0.1"), requestID: "1",
                            program: builtinProgram, maxWaiters: 1,
                            maxRestarts: 4, now: 0, services: .none)
        guard case .lookup(let key) = f.start(now: 0) else { Issue.record("expected a lookup"); return }
        #expect(key == CacheKey(parts: ["/Path", "www.example.com"]), "the builtin vcl_hash agrees with the core's")
    }

    @Test func theNativeBuiltinRecvDecidesExactlyAsTheInterpretedOne() {
        let methods = ["GET", "HEAD", "POST", "PUT", "TRACE", "OPTIONS", "DELETE", "PATCH", "PRI", "BREW", "CONNECT",
                       "get", "PURGE"]
        let fieldSets: [[(String, String)]] = [
            [("Host", "h")], [], [("host", "")], [("Host", "h"), ("Authorization", "Basic x")],
            [("Host", "h"), ("cookie", "a=1")], [("Authorization", "x"), ("Cookie", "y")], [("Host", "h"), ("X-A", "1")],
        ]
        var compared = 0
        for method in methods {
            for fields in fieldSets {
                for version in [HTTPVersion.http1_1, .http1_0] {
                    let head = HTTPRequestHead(method: method, target: "/", version: version, fields: HTTPFields(fields))
                    // The whole builtin vcl_recv, walked by the interpreter.
                    var context = ClientVCLContext(request: head,
                                                   addresses: ClientAddresses(client: "1.2.3.4", server: "127.0.0.1"),
                                                   requestID: "1", now: 0, backendHint: "default", services: .none)
                    let interpreted = builtinProgram.run(.recv, &context)
                    #expect(NativeBuiltin.recv(method: head.method, version: head.version, fields: head.fields)
                            == interpreted, "\(method) \(fields) \(version)")
                    compared += 1
                }
            }
        }
        #expect(compared == 182)
    }

    @Test func theNativeBuiltinBackendResponseDecidesExactlyAsTheInterpretedOne() {
        let fieldSets: [[(String, String)]] = [
            [], [("Cache-Control", "max-age=60")], [("Cache-Control", "no-store")], [("cache-control", "PRIVATE, max-age=5")],
            [("Set-Cookie", "a=1")], [("Set-Cookie", "")], [("Surrogate-Control", "No-Store")],
            [("Surrogate-Control", "max-age=60"), ("Cache-Control", "private")], [("Vary", "*")],
            [("Vary", "Accept-Encoding")], [("Vary", "Accept-Encoding"), ("Vary", "*")], [("Cache-Control", "no-storey")],
        ]
        var compared = 0
        for fields in fieldSets {
            for (ttl, keep) in [(60.0, 0.0), (0, 0), (-1, 0), (0, 30), (-1, -1)] {
                for pass in [false, true] {
                    func context() -> BackendVCLContext {
                        let context = BackendVCLContext(bereq: request(), backend: "default", uncacheable: pass,
                                                        isBackgroundFetch: false, requestID: "1",
                                                        addresses: ClientAddresses(client: "1.2.3.4", server: "127.0.0.1"),
                                                        now: 0, services: .none)
                        context.response = BackendResponseState(status: 200, reason: "OK", fields: HTTPFields(fields),
                                                                ttl: ttl, grace: 10, keep: keep, uncacheable: pass)
                        return context
                    }
                    var interpreted = context()
                    var native = context()
                    let expected = builtinProgram.run(.backendResponse, &interpreted)
                    #expect(NativeBuiltin.backendResponse(&native) == expected)
                    #expect(native.response?.ttl == interpreted.response?.ttl, "\(fields) \(ttl) \(keep) \(pass)")
                    #expect(native.response?.uncacheable == interpreted.response?.uncacheable, "\(fields) \(ttl) \(pass)")
                    compared += 1
                }
            }
        }
        #expect(compared == 120)
    }

    @Test func theNativeBuiltinHashKeysExactlyAsTheInterpretedOne() throws {
        // The same vcl_hash written out by the user runs in the interpreter.
        let interpreted = try program("""
            sub vcl_hash {
                hash_data(req.url);
                if (req.http.host) { hash_data(req.http.host); } else { hash_data(server.ip); }
                return (lookup);
            }
            """)
        #expect(builtinProgram.isBuiltinOnly(.hash) && !interpreted.isBuiltinOnly(.hash))
        let userRecv = try program("sub vcl_recv { set req.http.X = \"1\"; }")
        #expect(builtinProgram.isBuiltinOnly(.recv) && !userRecv.isBuiltinOnly(.recv) && userRecv.isBuiltinOnly(.hash))
        let requests = [
            request("GET", "/Path?q=1", [("Host", "WWW.Example.COM")]),
            request("GET", "/", [("Host", "")]),
            request("GET", "/x", [("Host", "a.example"), ("Host", "b.example")]),
            HTTPRequestHead(method: "GET", target: "/no-host", version: .http1_0, fields: HTTPFields()),
            request("HEAD", "http://Other.example:8080/abs?x", [("Host", "ignored.example")]),
        ]
        for head in requests {
            func key(_ program: VCLProgram) -> CacheKey? {
                var flow = RequestFlow(request: head, addresses: ClientAddresses(client: "1.2.3.4", server: "127.0.0.1"),
                                       requestID: "1", program: program, maxWaiters: 1, maxRestarts: 4, now: 0,
                                       services: .none)
                guard case .lookup(let key) = flow.start(now: 0) else { return nil }
                return key
            }
            let native = key(builtinProgram)
            #expect(native != nil && native == key(interpreted), "\(head.target)")
        }
    }

    @Test(arguments: [
        ("http://Example.com/a?b", "/a?b", "example.com"),
        ("HTTPS://example.com:8443", "/", "example.com:8443"),
        ("http://example.com?q=1", "/?q=1", "example.com"),
        ("/plain", "/plain", "h"),
    ])
    func absoluteFormBecomesOriginFormWithItsAuthorityAsHost(target: String, path: String, host: String) {
        var head = request("GET", target, [("Host", "h")])
        CorePolicy.prepare(&head)
        #expect(head.target == path)
        #expect(head.fields["Host"] == host)
    }

    @Test(arguments: [
        ("gzip, deflate, br", "gzip"),
        ("br;q=1.0, GZIP;q=0.5", "gzip"),
        ("gzip;q=0, deflate", nil),
        ("identity", nil),
        ("gzip;q=0.000", nil),
        ("deflate, gzip ; q=0.5", "gzip"),
        ("x-gzip, gzipper", nil),
        ("*", nil),
    ] as [(String, String?)])
    func acceptEncodingIsNormalised(value: String, expected: String?) {
        var fields = HTTPFields([("Accept-Encoding", value)])
        CorePolicy.normaliseAcceptEncoding(&fields)
        #expect(fields["Accept-Encoding"] == expected)
    }

    /// A connection's requests repeat their heads (the parser shares the field list of a repeated
    /// head): the second normalisation takes the first one's result instead of copying the list.
    @Test func aRepeatedFieldListTakesTheLastNormalisation() {
        let memo = CorePolicy.NormalisedFields()
        let received = HTTPFields([("Host", "a"), ("Accept-Encoding", "gzip, deflate, br")])
        var first = received
        CorePolicy.normaliseAcceptEncoding(&first, memo: memo)
        var second = received  // the same list again
        CorePolicy.normaliseAcceptEncoding(&second, memo: memo)
        #expect(second == first && second["Accept-Encoding"] == "gzip")
        #expect(second.sharesStorage(with: first), "the remembered result, not a new copy")
        var other = HTTPFields([("Host", "a"), ("Accept-Encoding", "br")])  // another list
        CorePolicy.normaliseAcceptEncoding(&other, memo: memo)
        #expect(other["Accept-Encoding"] == nil)
        var plain = HTTPFields([("Host", "a")])
        CorePolicy.normaliseAcceptEncoding(&plain, memo: memo)
        #expect(plain == HTTPFields([("Host", "a")]))
    }
}

@Suite struct BuiltinBackendResponseTests {
    let now = 1_800_000_000.0

    func plan(_ status: Int = 200, _ pairs: [(String, String)], parameters: Parameters = Parameters()) -> StoragePlan {
        CorePolicy.lifetimes(status: status, fields: HTTPFields(pairs), requestTime: now, responseTime: now,
                             defaults: parameters.perRequest)
    }

    /// The core's lifetimes, then the builtin vcl_backend_response.
    func verdict(_ status: Int = 200, _ pairs: [(String, String)], parameters: Parameters = Parameters(),
                 program: VCLProgram = builtinProgram) -> BackendResponseVerdict {
        var context = BackendVCLContext(bereq: request(), backend: "default", uncacheable: false,
                                        isBackgroundFetch: false, requestID: "1",
                                        addresses: ClientAddresses(client: "1.2.3.4", server: "127.0.0.1"),
                                        now: now, services: .none)
        return BackendResponsePolicy.evaluate(program: program, context: &context, status: status, reason: "R",
                                              fields: HTTPFields(pairs), plan: plan(status, pairs, parameters: parameters),
                                              pass: false)
    }

    func stored(_ status: Int = 200, _ pairs: [(String, String)], parameters: Parameters = Parameters()) -> Bool {
        verdict(status, pairs, parameters: parameters) == .deliver(store: true, hitForMissTTL: nil)
    }

    @Test func cacheableWithMaxAge() {
        let p = plan(200, [("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding")])
        #expect(stored(200, [("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding")]))
        #expect(p.ttl == 60)
        #expect(p.grace == 10)
    }

    /// A status Varnish never caches (a 500) reads beresp.ttl 0, as there, whatever its
    /// Cache-Control says; with no-cache and a validator it is still not kept to revalidate.
    @Test func anUncacheableStatusHasNoLifetime() {
        let p = plan(500, [("Cache-Control", "max-age=60")])
        #expect(p.ttl == 0)
        #expect(!stored(500, [("Cache-Control", "max-age=60")]))
        #expect(plan(500, [("Cache-Control", "no-cache"), ("ETag", "\"v\"")]).keep == Parameters().perRequest.defaultKeep)
        #expect(!stored(500, [("Cache-Control", "no-cache"), ("ETag", "\"v\"")]))
    }

    @Test func noCacheWithValidatorsIsStoredButAlwaysRevalidated() {
        let p = plan(200, [("Cache-Control", "no-cache, max-age=600"), ("ETag", "\"v\"")])
        #expect(stored(200, [("Cache-Control", "no-cache, max-age=600"), ("ETag", "\"v\"")]))
        #expect(p.ttl == 0)
        #expect(p.grace == 0)
        #expect(p.keep == 600)
        let lastModified = [("Cache-Control", "no-cache"), ("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT")]
        #expect(stored(200, lastModified))
        #expect(plan(200, lastModified).keep == 120)
        #expect(!stored(200, [("Cache-Control", "no-cache"), ("ETag", "\"v\""), ("Set-Cookie", "a=1")]))
    }

    @Test(arguments: ["max-age=60, must-revalidate", "max-age=60, proxy-revalidate", "s-maxage=60"])
    func revalidateDirectivesForbidStaleDelivery(value: String) {
        let pairs = [("Cache-Control", value + ", stale-while-revalidate=30, stale-if-error=30")]
        #expect(stored(200, pairs))
        #expect(plan(200, pairs).grace == 0)
        #expect(plan(200, pairs).staleIfError == 0)
    }

    @Test func staleIfErrorIsRead() {
        #expect(plan(200, [("Cache-Control", "max-age=1, stale-if-error=300")]).staleIfError == 300)
        #expect(plan(200, [("Cache-Control", "max-age=1")]).staleIfError == 0)
    }

    @Test func staleWhileRevalidateSetsGrace() {
        #expect(plan(200, [("Cache-Control", "max-age=1, stale-while-revalidate=30")]).grace == 30)
    }

    @Test(arguments: [
        (200, [("Cache-Control", "max-age=60"), ("Set-Cookie", "a=1")]),
        (200, [("Cache-Control", "max-age=60, private")]),
        (200, [("Cache-Control", "no-store, max-age=60")]),
        (200, [("Cache-Control", "no-cache, max-age=60")]),
        (200, [("Cache-Control", "max-age=60"), ("Surrogate-Control", "no-store")]),
        (200, [("Cache-Control", "max-age=60"), ("Vary", "*")]),
        (200, [("Cache-Control", "max-age=0")]),
        (200, [("Content-Type", "text/html")]),
        (500, [("Cache-Control", "max-age=60")]),
    ] as [(Int, [(String, String)])])
    func uncacheableBecomesHitForMiss(status: Int, pairs: [(String, String)]) {
        #expect(verdict(status, pairs) == .deliver(store: false, hitForMissTTL: 120))
    }

    /// Whether a response can be stored reads the Vary vcl_backend_response leaves, as Varnish
    /// does: `Vary: *` removed there makes it storable, `Vary: *` set there makes it not.
    @Test func theVaryTheVCLLeavesDecidesStorage() throws {
        let unsets = try program("sub vcl_backend_response { unset beresp.http.Vary; return (deliver); }")
        #expect(verdict(200, [("Cache-Control", "max-age=60"), ("Vary", "*")], program: unsets)
            == .deliver(store: true, hitForMissTTL: nil))
        let sets = try program("sub vcl_backend_response { set beresp.http.Vary = \"*\"; return (deliver); }")
        #expect(verdict(200, [("Cache-Control", "max-age=60")], program: sets) == .deliver(store: false, hitForMissTTL: nil))
    }

    @Test func surrogateControlOverridesCacheControlPrivate() {
        #expect(stored(200, [("Cache-Control", "private, max-age=60"), ("Surrogate-Control", "max-age=60")]))
    }

    @Test func defaultTTLAppliesOnlyWhenConfigured() throws {
        var parameters = Parameters()
        try parameters.set("default_ttl", "120s")
        #expect(stored(200, [("Content-Type", "text/html")], parameters: parameters))
        #expect(plan(200, [("Content-Type", "text/html")], parameters: parameters).ttl == 120)
        // RFC 9111 §4.2.2: no heuristic lifetime for a 302 or 307 unless marked public.
        #expect(!stored(302, [("Location", "/x")], parameters: parameters))
        #expect(!stored(307, [("Location", "/x")], parameters: parameters))
        #expect(stored(302, [("Location", "/x"), ("Cache-Control", "public")], parameters: parameters))
        #expect(stored(302, [("Location", "/x"), ("Cache-Control", "max-age=5")], parameters: parameters))
    }

    @Test func theVCLDecidesOverTheHeaders() throws {
        let vcl = try program("""
        sub vcl_backend_response {
            if (bereq.url ~ "^/static/") { unset beresp.http.Set-Cookie; set beresp.ttl = 1h; return (deliver); }
            if (beresp.status == 404) { return (pass(30s)); }
            if (beresp.http.X-Retry) { return (retry); }
            if (beresp.http.X-Error) { return (error(599, "bad")); }
        }
        """)
        var context = BackendVCLContext(bereq: request("GET", "/static/a.css"), backend: "default", uncacheable: false,
                                        isBackgroundFetch: false, requestID: "1",
                                        addresses: ClientAddresses(client: "1.2.3.4", server: "127.0.0.1"),
                                        now: now, services: .none)
        let fields = HTTPFields([("Set-Cookie", "a=1")])
        let verdict = BackendResponsePolicy.evaluate(program: vcl, context: &context, status: 200, reason: "OK",
                                                     fields: fields, plan: plan(200, []), pass: false)
        #expect(verdict == .deliver(store: true, hitForMissTTL: nil))
        #expect(context.response?.ttl == 3600)
        #expect(context.response?.fields["Set-Cookie"] == nil)
        #expect(self.verdict(404, [], program: vcl) == .deliver(store: false, hitForMissTTL: 30, passes: true))
        #expect(self.verdict(200, [("X-Retry", "1")], program: vcl) == .retry)
        #expect(self.verdict(200, [("X-Error", "1")], program: vcl) == .error(status: 599, reason: "bad"))
    }

    /// As Varnish 7.1 answers them (compared side by side): a bare error is a failed fetch, a
    /// status alone brings its standard reason.
    @Test func errorReturnsAreReadAsInVarnish() {
        #expect(BackendResponsePolicy.errorResponse([]) == (503, "Backend fetch failed"))
        #expect(BackendResponsePolicy.errorResponse([.int(500)]) == (500, "Internal Server Error"))
        #expect(BackendResponsePolicy.errorResponse([.int(502)]) == (502, "Bad Gateway"))
        #expect(BackendResponsePolicy.errorResponse([.int(404), .string("Nope")]) == (404, "Nope"))
    }
}

@Suite struct ConditionalTests {
    @Test func entityTagsAndDates() {
        let lm = "Sun, 06 Nov 1994 08:49:37 GMT"
        func check(_ pairs: [(String, String)]) -> Bool {
            ConditionalRequest.isNotModified(request: HTTPFields(pairs), etag: "\"v1\"", lastModified: lm)
        }
        #expect(check([("If-None-Match", "\"v1\"")]))
        #expect(check([("If-None-Match", "\"v0\", W/\"v1\"")]))
        #expect(check([("If-None-Match", "*")]))
        #expect(!check([("If-None-Match", "\"v2\"")]))
        #expect(check([("If-Modified-Since", lm)]))
        #expect(!check([("If-Modified-Since", "Sat, 05 Nov 1994 08:49:37 GMT")]))
        #expect(!check([("If-None-Match", "\"v2\""), ("If-Modified-Since", lm)]), "If-None-Match takes precedence")
        #expect(!check([]))
    }

    /// If-None-Match lists as browsers and caches send them: blanks around entries and "*",
    /// empty entries, a weak tag on either side, and near misses (a prefix, another quote).
    @Test(arguments: [
        (" \"a\" ,\t\"v1\" ", "\"v1\"", true), ("\t*  ", "\"v1\"", true), ("*, \"x\"", "\"v1\"", false),
        (",,\"v1\",", "\"v1\"", true), ("W/\"v1\"", "\"v1\"", true), ("\"v1\"", "W/\"v1\"", true),
        ("\"v\"", "\"v1\"", false), ("\"v1", "\"v1\"", false), ("'v1'", "\"v1\"", false), ("", "\"v1\"", false),
        ("\"v1\"\t,", "\"v1\"", true), (" , ", "\"v1\"", false), ("\"é\"", "\"é\"", true),
    ])
    func ifNoneMatchListsAreReadByteForByte(list: String, etag: String, matches: Bool) {
        #expect(ConditionalRequest.isNotModified(request: HTTPFields([("If-None-Match", list)]), etag: etag,
                                                 lastModified: nil) == matches)
    }
}
