// BodyCoding: which coding beresp.do_gzip / do_gunzip ask for on a response, and the fields that
// go with the coded body; http_gzip_support's Accept-Encoding on backend requests.

import NIOCore
import ShellacCore
import ShellacHTTP
import Testing

@Suite struct BodyCodingTests {
    func decide(gzip: Bool = false, gunzip: Bool = false, hasBody: Bool = true, _ pairs: [(String, String)],
                takesGzip: Bool = true) -> (BodyCoding?, HTTPFields) {
        var fields = HTTPFields(pairs)
        let coding = BodyCoding.decide(doGzip: gzip, doGunzip: gunzip, hasBody: hasBody, fields: &fields,
                                       requestTakesGzip: takesGzip)
        return (coding, fields)
    }

    @Test func gzipMarksTheEncodingVaryAndAWeakETag() {
        let (coding, fields) = decide(gzip: true, [("ETag", "\"a\""), ("Vary", "Cookie")])
        #expect(coding == .gzip)
        #expect(fields["Content-Encoding"] == "gzip")
        #expect(fields["Vary"] == "Cookie, Accept-Encoding")
        #expect(fields["ETag"] == "W/\"a\"")
        #expect(decide(gzip: true, [("ETag", "W/\"a\""), ("Vary", "accept-encoding")]).1["ETag"] == "W/\"a\"")
        #expect(decide(gzip: true, [("Vary", "accept-encoding")]).1["Vary"] == "accept-encoding")
        #expect(decide(gzip: true, [("Vary", "*")]).1["Vary"] == "*")
    }

    @Test func gzipOnlyForAnUnencodedBodyAndAClientThatTakesIt() {
        #expect(decide(gzip: true, [("Content-Encoding", "br")]).0 == nil)
        #expect(decide(gzip: true, [("Content-Encoding", "gzip")]).0 == nil)
        #expect(decide(gzip: true, [("Content-Encoding", "identity")]).0 == .gzip)
        #expect(decide(gzip: true, hasBody: false, []).0 == nil)
        let plain = decide(gzip: true, [("ETag", "\"a\"")], takesGzip: false)
        #expect(plain.0 == nil)
        #expect(plain.1["Content-Encoding"] == nil)
        #expect(plain.1["ETag"] == "\"a\"")
        #expect(plain.1["Vary"] == "Accept-Encoding", "the plain variant varies too")
    }

    @Test func gunzipWinsAndOnlyTakesGzip() {
        let (coding, fields) = decide(gzip: true, gunzip: true, [("Content-Encoding", "GZIP"), ("ETag", "\"b\"")])
        #expect(coding == .gunzip)
        #expect(fields["Content-Encoding"] == nil)
        #expect(fields["ETag"] == "W/\"b\"")
        #expect(decide(gunzip: true, []).0 == nil)
        #expect(decide(gunzip: true, [("Content-Encoding", "br")]).0 == nil)
        #expect(decide(gunzip: true, hasBody: false, [("Content-Encoding", "gzip")]).0 == nil)
        #expect(decide([("Content-Encoding", "gzip")]).0 == nil)
    }
}

/// http_gzip_support on the way out: a fetch for the cache asks the backend for gzip whatever the
/// client takes; a pass asks as its client does.
@Suite struct GzipRequestTests {
    func prepare(_ pairs: [(String, String)], forCache: Bool = true, gzipSupport: Bool = true)
        -> (head: HTTPRequestHead, forwardingLeftOut: Bool, gzipLeftOut: Bool) {
        BackendRequest.prepare(from: request("GET", "/", pairs), clientAddress: "1.2.3.4", forCache: forCache,
                               requestID: "5", gzipSupport: gzipSupport)
    }

    @Test func aFetchForTheCacheAsksForGzip() {
        let bare = prepare([("Host", "a")])
        #expect(bare.gzipLeftOut && bare.forwardingLeftOut, "written after the fields, the client's list not copied")
        #expect(bare.head.fields["Accept-Encoding"] == nil)
        #expect(prepare([("Accept-Encoding", "gzip")]).head.fields["Accept-Encoding"] == "gzip")
        #expect(prepare([("Accept-Encoding", "br")]).head.fields["Accept-Encoding"] == "gzip")
        let forwarded = prepare([("X-Forwarded-For", "9.9.9.9")])
        #expect(!forwarded.gzipLeftOut)
        #expect(forwarded.head.fields["Accept-Encoding"] == "gzip")
    }

    @Test func aPassOrGzipSupportOffAsksAsTheClientDoes() {
        #expect(prepare([("Accept-Encoding", "br")], forCache: false).head.fields["Accept-Encoding"] == "br")
        #expect(!prepare([], forCache: false).gzipLeftOut)
        #expect(prepare([("Accept-Encoding", "br")], gzipSupport: false).head.fields["Accept-Encoding"] == "br")
        #expect(!prepare([], gzipSupport: false).gzipLeftOut)
    }

    @Test func theLeftOutAcceptEncodingIsWrittenAndSeenByVCL() {
        var buffer = ByteBuffer()
        buffer.writeRequestHead(prepare([]).head,
                                forwarding: LeftOutForwarding(forwardedFor: "1.2.3.4", requestID: "5", acceptGzip: true))
        #expect(String(buffer: buffer)
            == "GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\nX-Varnish: 5\r\nAccept-Encoding: gzip\r\n\r\n")
        let prepared = prepare([])
        let context = BackendVCLContext(bereq: prepared.head, forwardingLeftOut: prepared.forwardingLeftOut,
                                        gzipLeftOut: prepared.gzipLeftOut, backend: "default", uncacheable: false,
                                        isBackgroundFetch: false, requestID: "5",
                                        addresses: ClientAddresses(client: "1.2.3.4", server: "127.0.0.1"),
                                        now: 0, services: .none)
        #expect(context.bereqTakesGzip)
        #expect(context.header(.bereq, "Accept-Encoding") == "gzip")
        #expect(context.leftOutForwarding == nil, "in the fields once VCL looked")
    }
}
