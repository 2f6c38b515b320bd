// BodyCoding: which coding beresp.do_gzip / do_gunzip ask for on a response, and the fields that
// go with the coded body.

import ShellacCore
import ShellacHTTP
import Testing

@Suite struct BodyCodingTests {
    let takesGzip = HTTPFields([("Accept-Encoding", "gzip")])

    func decide(gzip: Bool = false, gunzip: Bool = false, hasBody: Bool = true, _ pairs: [(String, String)],
                request: HTTPFields? = nil) -> (BodyCoding?, HTTPFields) {
        var fields = HTTPFields(pairs)
        let coding = BodyCoding.decide(doGzip: gzip, doGunzip: gunzip, hasBody: hasBody, fields: &fields,
                                       requestFields: request ?? takesGzip)
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
        let plain = decide(gzip: true, [("ETag", "\"a\"")], request: HTTPFields([("Accept-Encoding", "gzip;q=0")]))
        #expect(plain.0 == nil)
        #expect(plain.1["Content-Encoding"] == nil)
        #expect(plain.1["ETag"] == "\"a\"")
        #expect(plain.1["Vary"] == "Accept-Encoding", "the plain variant varies too")
        #expect(decide(gzip: true, [], request: HTTPFields()).0 == nil)
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
