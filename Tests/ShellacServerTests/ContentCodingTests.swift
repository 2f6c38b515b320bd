// beresp.do_gzip and beresp.do_gunzip end to end: bodies compressed or decompressed on their way
// into the cache, streamed to the client that fetched them and served whole from the cache after;
// clients that do not take gzip get the body as the backend sent it; corrupt gzip is never stored.

import NIOCore
import ShellacHTTP
import ShellacTestSupport
import Testing

@Suite struct ContentCodingTests {
    /// A page of text, long enough to span several reads.
    static let page = String((0..<6_000).map { "line \($0) of the page\n" }.joined())

    static func gzip(_ text: String) throws -> [UInt8] {
        try code(.compress, Array(text.utf8))
    }

    static func gunzip(_ bytes: [UInt8]) throws -> String {
        String(decoding: try code(.decompress, bytes), as: UTF8.self)
    }

    static func code(_ mode: GzipCoder.Mode, _ bytes: [UInt8]) throws -> [UInt8] {
        let coder = GzipCoder(mode)
        var first = try coder.process(ByteBuffer(bytes: bytes), allocator: ByteBufferAllocator())
        var rest = try coder.finish(allocator: ByteBufferAllocator())
        return first.readBytes(length: first.readableBytes)! + rest.readBytes(length: rest.readableBytes)!
    }

    static let vcl = """
    vcl 4.1;
    backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
    sub vcl_backend_response {
        if (beresp.http.Content-Type ~ "^text/") { set beresp.do_gzip = true; }
        if (bereq.url ~ "^/gunzip") { set beresp.do_gunzip = true; }
    }
    """

    /// do_gzip stores one gzip copy (every fetch for the cache asks for gzip): clients that take
    /// gzip get it as stored, the others decompressed.
    @Test func doGzipStoresOneCopyForEveryClient() async throws {
        try await withHarness(vcl: Self.vcl, script: { _ in
            .ok(Self.page, [("Cache-Control", "max-age=60"), ("Content-Type", "text/plain"), ("ETag", "\"v1\"")])
        }) { h in
            let gzip = [("Accept-Encoding", "gzip, deflate, br")]
            let miss = try await h.get("/page", gzip)
            #expect(miss.status == 200)
            #expect(miss.header("Content-Encoding") == "gzip")
            #expect(miss.header("Vary") == "Accept-Encoding")
            #expect(miss.header("ETag") == "W/\"v1\"")
            #expect(miss.body.count < Self.page.utf8.count / 3)
            #expect(try Self.gunzip(miss.body) == Self.page)

            let hit = try await h.get("/page", gzip)
            #expect(hit.header("Content-Encoding") == "gzip")
            #expect(hit.header("Content-Length") == "\(hit.body.count)")
            #expect(hit.body == miss.body)

            let plain = try await h.get("/page")
            #expect(plain.header("Content-Encoding") == nil)
            #expect(plain.header("Transfer-Encoding") == "chunked", "decompressed as it goes out")
            #expect(plain.text == Self.page)
            #expect(plain.header("ETag") == "W/\"v1\"")
            #expect(h.origin.requestCount == 1)
        }
    }

    /// With http_gzip_support off, a body is compressed only for a request that takes gzip; the
    /// other clients' variant is stored as the backend sent it.
    @Test func withoutGzipSupportDoGzipCompressesOnlyForClientsThatTakeIt() async throws {
        try await withHarness(parameters: ["http_gzip_support=off"], vcl: Self.vcl, script: { _ in
            .ok(Self.page, [("Cache-Control", "max-age=60"), ("Content-Type", "text/plain"), ("ETag", "\"v1\"")])
        }) { h in
            let miss = try await h.get("/page", [("Accept-Encoding", "gzip")])
            #expect(try Self.gunzip(miss.body) == Self.page)
            let plain = try await h.get("/page")
            #expect(plain.header("Content-Encoding") == nil)
            #expect(plain.text == Self.page)
            #expect(plain.header("ETag") == "\"v1\"")
            #expect(plain.header("Vary") == "Accept-Encoding")
            #expect(try await h.get("/page").text == Self.page)
            #expect(try await h.get("/page", [("Accept-Encoding", "gzip")]).body == miss.body)
            #expect(h.origin.requestCount == 2)
            #expect(h.origin.requests[1].header("Accept-Encoding") == nil)
        }
    }

    @Test func doGzipLeavesEncodedAndNonTextBodiesAlone() async throws {
        let compressed = try Self.gzip("already compressed")
        try await withHarness(vcl: Self.vcl, script: { request in
            switch request.path {
            case "/encoded":
                return .bytes(status: 200, headers: [("Cache-Control", "max-age=60"), ("Content-Type", "text/plain"),
                                                     ("Content-Encoding", "gzip")], body: compressed)
            default:
                return .ok("binary", [("Cache-Control", "max-age=60"), ("Content-Type", "image/png")])
            }
        }) { h in
            let encoded = try await h.get("/encoded", [("Accept-Encoding", "gzip")])
            #expect(encoded.body == compressed, "compressed once, not twice")
            let image = try await h.get("/image", [("Accept-Encoding", "gzip")])
            #expect(image.header("Content-Encoding") == nil)
            #expect(image.text == "binary")
        }
    }

    @Test func doGunzipStoresThePlainBody() async throws {
        let compressed = try Self.gzip(Self.page)
        try await withHarness(vcl: Self.vcl, script: { _ in
            .bytes(status: 200, headers: [("Cache-Control", "max-age=60"), ("Content-Type", "application/json"),
                                          ("Content-Encoding", "gzip"), ("ETag", "\"z\"")], body: compressed)
        }) { h in
            let miss = try await h.get("/gunzip/a", [("Accept-Encoding", "gzip")])
            #expect(miss.header("Content-Encoding") == nil)
            #expect(miss.header("ETag") == "W/\"z\"")
            #expect(miss.text == Self.page)
            let hit = try await h.get("/gunzip/a")
            #expect(hit.text == Self.page)
            #expect(hit.header("Content-Length") == "\(Self.page.utf8.count)")
            #expect(h.origin.requestCount == 1)
        }
    }

    /// Corrupt gzip under do_gunzip: the client's response is cut short (its chunked body never
    /// ends) and nothing is stored, so the next request fetches again.
    @Test func corruptGzipIsNeverStored() async throws {
        var compressed = try Self.gzip(Self.page)
        for index in stride(from: 100, to: compressed.count - 20, by: 50) { compressed[index] ^= 0xA5 }
        let broken = compressed
        try await withHarness(vcl: Self.vcl, script: { _ in
            .bytes(status: 200, headers: [("Cache-Control", "max-age=60"), ("Content-Type", "application/json"),
                                          ("Content-Encoding", "gzip")], body: broken)
        }) { h in
            await #expect(throws: (any Error).self) { _ = try await h.get("/gunzip/broken") }
            await #expect(throws: (any Error).self) { _ = try await h.get("/gunzip/broken") }
            #expect(h.origin.requestCount == 2)
        }
    }

    /// A backend that compresses when asked (most do): under http_gzip_support every fetch for the
    /// cache asks for gzip, the one gzip copy serves every client, decompressed as it streams or
    /// whole from the cache for clients that do not take gzip. A pass asks as its client does.
    @Test func oneGzipCopyFromTheBackendServesEveryClient() async throws {
        let compressed = try Self.gzip(Self.page)
        try await withHarness(script: { request in
            let takesGzip = request.header("Accept-Encoding")?.contains("gzip") == true
            let headers = [("Cache-Control", "max-age=60"), ("Content-Type", "text/html"), ("Vary", "Accept-Encoding"),
                           ("ETag", "\"p\"")]
            return takesGzip
                ? .bytes(status: 200, headers: headers + [("Content-Encoding", "gzip")], body: compressed)
                : .bytes(status: 200, headers: headers, body: Array(Self.page.utf8))
        }) { h in
            let streamed = try await h.get("/p")  // a miss, for a client without Accept-Encoding
            #expect(streamed.header("Content-Encoding") == nil)
            #expect(streamed.header("Transfer-Encoding") == "chunked")
            #expect(streamed.header("ETag") == "W/\"p\"")
            #expect(streamed.text == Self.page)
            #expect(h.origin.requests.first?.header("Accept-Encoding") == "gzip")

            let gzip = try await h.get("/p", [("Accept-Encoding", "gzip")])
            #expect(gzip.header("Content-Encoding") == "gzip")
            #expect(gzip.body == compressed)
            #expect(gzip.header("ETag") == "\"p\"")

            let plain = try await h.get("/p", [("Accept-Encoding", "br"), ("Range", "bytes=0-9")])
            #expect(plain.status == 200, "no range is cut from a body decompressed on its way")
            #expect(plain.text == Self.page)
            let head = try await h.get("/p", method: "HEAD")
            #expect(head.header("Content-Encoding") == nil)
            #expect(head.header("Content-Length") == nil, "the decompressed length is not known in advance")
            #expect(h.origin.requestCount == 1)

            let pass = try await h.get("/p", [("Cookie", "a=1"), ("Accept-Encoding", "br")])
            #expect(pass.text == Self.page)
            #expect(h.origin.requests.last?.header("Accept-Encoding") == "br")
        }
    }

    /// A backend's gzip that does not decompress: clients that take gzip get it as it came (as
    /// from Varnish); one that does not sees its streamed response break off, and a 503 on a hit.
    @Test func corruptGzipFromTheBackendIsNeverDeliveredAsPlain() async throws {
        let garbage = Array("this is not gzip data at all, just text".utf8)
        try await withHarness(script: { _ in
            .bytes(status: 200, headers: [("Cache-Control", "max-age=60"), ("Content-Encoding", "gzip")], body: garbage)
        }) { h in
            await #expect(throws: (any Error).self) { _ = try await h.get("/bad") }
            let asItCame = try await h.get("/bad", [("Accept-Encoding", "gzip")])
            #expect(asItCame.body == garbage)
            let hit = try await h.get("/bad")
            #expect(hit.status == 503)
        }
    }

    /// Clients that take gzip and clients that do not, waiting together on one fetch: each gets
    /// the body its way from the one gzip answer.
    @Test func waitersOnOneGzipFetchGetTheBodyTheirWay() async throws {
        let compressed = try Self.gzip(Self.page)
        try await withHarness(script: { _ in
            .bytes(status: 200, headers: [("Cache-Control", "max-age=60"), ("Vary", "Accept-Encoding"),
                                          ("Content-Encoding", "gzip")], body: compressed, delayMilliseconds: 200)
        }) { h in
            let responses = try await withThrowingTaskGroup(of: (Bool, TestResponse).self) { group in
                for i in 0..<10 {
                    let gzip = i % 2 == 0
                    group.addTask { (gzip, try await h.get("/w", gzip ? [("Accept-Encoding", "gzip")] : [])) }
                }
                var all: [(Bool, TestResponse)] = []
                for try await pair in group { all.append(pair) }
                return all
            }
            for (gzip, response) in responses {
                if gzip {
                    #expect(response.header("Content-Encoding") == "gzip")
                    #expect(response.body == compressed)
                } else {
                    #expect(response.header("Content-Encoding") == nil)
                    #expect(response.text == Self.page)
                }
            }
            #expect(h.origin.requestCount == 1)
        }
    }

    /// A large gzip object to a client that does not take gzip and reads only after its socket
    /// filled: the body goes out decompressed a piece at a time as the socket drains, whole.
    @Test func aLargeGunzippedHitFollowsASlowReader() async throws {
        let big = String(repeating: Self.page, count: 40)  // about 6 MB, a few hundred KB compressed
        let compressed = try Self.gzip(big)
        try await withHarness(budget: 64 << 20, script: { _ in
            .bytes(status: 200, headers: [("Cache-Control", "max-age=60"), ("Content-Encoding", "gzip")],
                   body: compressed)
        }) { h in
            #expect(try await h.get("/big", [("Accept-Encoding", "gzip")]).body == compressed)
            let slow = try await RawClient.connect(port: h.port, group: h.clients, reading: false)
            try await slow.send("GET /big HTTP/1.1\r\nHost: example.com\r\n\r\n")
            try await slow.startReading()
            let response = try await slow.readResponse(seconds: 20)
            await slow.close()
            #expect(response.header("Content-Encoding") == nil)
            #expect(response.body.count == big.utf8.count)
            #expect(response.text == big)
            #expect(h.origin.requestCount == 1)
        }
    }
}
