// Parameters, the builtin policy (Varnish's builtin VCL) and conditional 304 rules.

import ShellacHTTP
import ShellacStore
import Testing
@testable import ShellacCore

func request(_ method: String = "GET", _ target: String = "/", _ pairs: [(String, String)] = [("Host", "h")],
             framing: BodyFraming = .none) -> HTTPRequestHead {
    HTTPRequestHead(method: method, target: target, version: .http1_1, fields: HTTPFields(pairs), framing: framing)
}

@Suite struct ParametersTests {
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

@Suite struct BuiltinRecvTests {
    @Test(arguments: [
        (request("GET"), RecvDecision.hash),
        (request("HEAD"), .hash),
        (request("POST"), .pass),
        (request("DELETE"), .pass),
        (request("GET", "/", [("Host", "h"), ("Cookie", "a=1")]), .pass),
        (request("GET", "/", [("Host", "h"), ("Authorization", "Basic x")]), .pass),
        (request("GET", "/", [("Host", "h")], framing: .contentLength(3)), .pass),
        (request("BREW"), .synth(status: 501, reason: "Not Implemented")),
    ])
    func decisions(head: HTTPRequestHead, expected: RecvDecision) {
        var head = head
        #expect(BuiltinPolicy.recv(&head) == expected)
    }

    @Test func hostIsLowerCasedAndKeyedWithTheURL() {
        var head = request("GET", "/Path", [("Host", "WWW.Example.COM")])
        _ = BuiltinPolicy.recv(&head)
        #expect(BuiltinPolicy.cacheKey(head, serverAddress: "127.0.0.1") == CacheKey(parts: ["/Path", "www.example.com"]))
        let noHost = HTTPRequestHead(method: "GET", target: "/x", version: .http1_0, fields: HTTPFields())
        #expect(BuiltinPolicy.cacheKey(noHost, serverAddress: "10.1.1.1") == CacheKey(parts: ["/x", "10.1.1.1"]))
    }

    @Test(arguments: [
        ("http://Example.com/a?b", "/a?b", "example.com"),
        ("HTTPS://example.com:8443", "/", "example.com:8443"),
        ("http://example.com?q=1", "/?q=1", "example.com"),
        ("/plain", "/plain", "h"),
    ])
    func absoluteFormBecomesOriginFormWithItsAuthorityAsHost(target: String, path: String, host: String) {
        var head = request("GET", target, [("Host", "h")])
        _ = BuiltinPolicy.recv(&head)
        #expect(head.target == path)
        #expect(head.fields["Host"] == host)
    }

    @Test(arguments: [
        ("gzip, deflate, br", "gzip"),
        ("br;q=1.0, GZIP;q=0.5", "gzip"),
        ("gzip;q=0, deflate", nil),
        ("identity", nil),
    ] as [(String, String?)])
    func acceptEncodingIsNormalised(value: String, expected: String?) {
        var head = request("GET", "/", [("Host", "h"), ("Accept-Encoding", value)])
        _ = BuiltinPolicy.recv(&head)
        #expect(head.fields["Accept-Encoding"] == expected)
    }
}

@Suite struct BuiltinBackendResponseTests {
    let now = 1_800_000_000.0

    func plan(_ status: Int = 200, _ pairs: [(String, String)], parameters: Parameters = Parameters()) -> StoragePlan {
        BuiltinPolicy.backendResponse(status: status, fields: HTTPFields(pairs), requestTime: now, responseTime: now,
                                      parameters: parameters)
    }

    @Test func cacheableWithMaxAge() {
        let p = plan(200, [("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding")])
        #expect(p.cacheable)
        #expect(p.ttl == 60)
        #expect(p.grace == 10)
        #expect(p.varyNames == ["accept-encoding"])
    }

    @Test func noCacheWithValidatorsIsStoredButAlwaysRevalidated() {
        let p = plan(200, [("Cache-Control", "no-cache, max-age=600"), ("ETag", "\"v\"")])
        #expect(p.cacheable)
        #expect(p.ttl == 0)
        #expect(p.grace == 0)
        #expect(p.keep == 600)
        let short = plan(200, [("Cache-Control", "no-cache"), ("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT")])
        #expect(short.cacheable)
        #expect(short.keep == 120)
        #expect(!plan(200, [("Cache-Control", "no-cache"), ("ETag", "\"v\""), ("Set-Cookie", "a=1")]).cacheable)
    }

    @Test(arguments: ["max-age=60, must-revalidate", "max-age=60, proxy-revalidate", "s-maxage=60"])
    func revalidateDirectivesForbidStaleDelivery(value: String) {
        let p = plan(200, [("Cache-Control", value + ", stale-while-revalidate=30, stale-if-error=30")])
        #expect(p.cacheable)
        #expect(p.grace == 0)
        #expect(p.staleIfError == 0)
    }

    @Test func staleIfErrorIsRead() {
        #expect(plan(200, [("Cache-Control", "max-age=1, stale-if-error=300")]).staleIfError == 300)
        #expect(plan(200, [("Cache-Control", "max-age=1")]).staleIfError == 0)
    }

    @Test func staleWhileRevalidateSetsGrace() {
        #expect(plan(200, [("Cache-Control", "max-age=1, stale-while-revalidate=30")]).grace == 30)
    }

    @Test(arguments: [
        (200, [("Cache-Control", "max-age=60"), ("Set-Cookie", "a=1")], "set-cookie"),
        (200, [("Cache-Control", "max-age=60, private")], "private"),
        (200, [("Cache-Control", "no-store, max-age=60")], "no-store"),
        (200, [("Cache-Control", "no-cache, max-age=60")], "no-cache"),
        (200, [("Cache-Control", "max-age=60"), ("Surrogate-Control", "no-store")], "surrogate-no-store"),
        (200, [("Cache-Control", "max-age=60"), ("Vary", "*")], "vary-star"),
        (200, [("Cache-Control", "max-age=0")], "ttl"),
        (200, [("Content-Type", "text/html")], "ttl"),
        (500, [("Cache-Control", "max-age=60")], "status"),
    ] as [(Int, [(String, String)], String)])
    func uncacheableBecomesHitForMiss(status: Int, pairs: [(String, String)], reason: String) {
        let p = plan(status, pairs)
        #expect(!p.cacheable)
        #expect(p.uncacheableReason == reason)
        #expect(p.hitForMissTTL == 120)
    }

    @Test func surrogateControlOverridesCacheControlPrivate() {
        #expect(plan(200, [("Cache-Control", "private, max-age=60"), ("Surrogate-Control", "max-age=60")]).cacheable)
    }

    @Test func defaultTTLAppliesOnlyWhenConfigured() throws {
        var parameters = Parameters()
        try parameters.set("default_ttl", "120s")
        let p = plan(200, [("Content-Type", "text/html")], parameters: parameters)
        #expect(p.cacheable)
        #expect(p.ttl == 120)
        // RFC 9111 §4.2.2: no heuristic lifetime for a 302 or 307 unless marked public.
        #expect(!plan(302, [("Location", "/x")], parameters: parameters).cacheable)
        #expect(!plan(307, [("Location", "/x")], parameters: parameters).cacheable)
        #expect(plan(302, [("Location", "/x"), ("Cache-Control", "public")], parameters: parameters).cacheable)
        #expect(plan(302, [("Location", "/x"), ("Cache-Control", "max-age=5")], parameters: parameters).cacheable)
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
}
