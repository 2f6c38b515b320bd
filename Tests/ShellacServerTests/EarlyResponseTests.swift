// A response that ends before its request's body: an app answering 413 or 401 before taking an
// upload, or the VCL answering a POST itself. The rest of the body is read and dropped so the
// connection carries the next request, within http_req_body_discard and timeout_body.

import ShellacServer
import ShellacTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct EarlyResponseTests {
    static func vcl(backendPort: String = "ORIGIN_PORT") -> String {
        """
        vcl 4.1;
        backend default { .host = "127.0.0.1"; .port = "\(backendPort)"; }
        sub vcl_recv {
            if (req.url == "/denied") { return (synth(403, "Denied")); }
            if (req.url == "/next") { return (synth(200, "Next")); }
        }
        """
    }

    @Test func anAppAnsweringBeforeTheUploadKeepsTheClientConnection() async throws {
        let listener = try RawSocket.listen()
        defer { listener.close() }
        try await withHarness(vcl: Self.vcl(backendPort: "\(listener.port)"), script: { _ in .ok("unused") }) { h in
            let app = Task { await onOwnThread { () -> String in
                guard let connection = listener.accept() else { return "" }
                defer { connection.close() }
                let head = connection.readHead()  // and none of the body
                connection.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!")
                return head
            } }
            let c = try await h.client()
            try await c.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3000\r\n\r\n"
                             + String(repeating: "u", count: 1000))
            let refused = try await c.readResponse()
            #expect(refused.status == 413)
            #expect(refused.text == "big!")
            #expect(await app.value.hasPrefix("POST /upload"))
            // The client goes on sending its upload, then asks for more on the same connection.
            try await c.send(String(repeating: "u", count: 2000) + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readResponse().status == 200)
            #expect(!c.isClosed)
            await c.close()
        }
    }

    @Test func aSyntheticAnswerToAChunkedPostDropsTheRestOfItsBody() async throws {
        try await withHarness(vcl: Self.vcl(), script: { _ in .ok("origin") }) { h in
            let c = try await h.client()
            try await c.send("POST /denied HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            #expect(try await c.readResponse().status == 403)
            // What follows the body is a request of its own, not more of the body.
            try await c.send("3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readResponse().status == 200)
            #expect(h.origin.requestCount == 0)
            await c.close()
        }
    }

    @Test func aRestOverTheDiscardLimitClosesTheConnection() async throws {
        try await withHarness(parameters: ["http_req_body_discard=1k"], vcl: Self.vcl(), script: { _ in .ok("origin") }) { h in
            let announced = try await h.client()
            try await announced.send("POST /denied HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\nabc")
            #expect(try await announced.readResponse().status == 403)
            _ = try await announced.readUntilClose(seconds: 2)
            #expect(announced.isClosed)

            let chunked = try await h.client()
            try await chunked.send("POST /denied HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            #expect(try await chunked.readResponse().status == 403)
            try await chunked.send("800\r\n" + String(repeating: "x", count: 2048) + "\r\n")
            _ = try await chunked.readUntilClose(seconds: 2)
            #expect(chunked.isClosed)
        }
    }

    @Test func aClientThatExpectedContinueAndGotNoneIsClosed() async throws {
        // It was told no 100 Continue, so it sends no body: what comes next is not body bytes.
        try await withHarness(vcl: Self.vcl(), script: { _ in .ok("origin") }) { h in
            let c = try await h.client()
            try await c.send("POST /denied HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
            #expect(try await c.readResponse().status == 403)
            _ = try await c.readUntilClose(seconds: 2)
            #expect(c.isClosed)
        }
    }

    @Test func aRestThatStopsComingIsTimedOut() async throws {
        try await withHarness(parameters: ["timeout_body=0.3s", "timeout_idle=30s"], vcl: Self.vcl(),
                              script: { _ in .ok("origin") }) { h in
            let c = try await h.client()
            try await c.send("POST /denied HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
            #expect(try await c.readResponse().status == 403)
            _ = try await c.readUntilClose(seconds: 3)
            #expect(c.isClosed)
        }
    }
}
