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

    @Test func doGzipCompressesForClientsThatTakeGzip() async throws {
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
            #expect(h.origin.requestCount == 1)

            // A client without gzip is another variant, stored as the backend sent it.
            let plain = try await h.get("/page")
            #expect(plain.header("Content-Encoding") == nil)
            #expect(plain.text == Self.page)
            #expect(plain.header("ETag") == "\"v1\"")
            #expect(plain.header("Vary") == "Accept-Encoding")
            #expect(try await h.get("/page").text == Self.page)
            #expect(try await h.get("/page", [("Accept-Encoding", "gzip")]).body == miss.body)
            #expect(h.origin.requestCount == 2)
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
}
