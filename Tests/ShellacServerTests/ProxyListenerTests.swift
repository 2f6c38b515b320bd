// A listener marked PROXY: the PROXY header's client becomes client.ip (and what the backend
// sees in X-Forwarded-For), the connection's ends stay remote.ip and local.ip, and a
// connection that does not start with a header is closed.

import ShellacHTTP
import ShellacTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct ProxyListenerTests {
    static let vcl = """
    vcl 4.1;
    import std;
    backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
    sub vcl_recv {
        if (req.url == "/who") { return (synth(200)); }
        return (pass);
    }
    sub vcl_synth {
        set resp.http.X-Client = client.ip + " " + std.port(client.ip);
        set resp.http.X-Server = server.ip + " " + std.port(server.ip);
        set resp.http.X-Remote = remote.ip;
        set resp.http.X-Local = local.ip;
    }
    """

    @Test func versionOneHeaderNamesTheClient() async throws {
        try await withHarness(vcl: Self.vcl, proxyProtocol: true, script: { _ in .ok("x") }) { h in
            let c = try await h.client()
            try await c.send("PROXY TCP4 203.0.113.7 192.0.2.10 56324 443\r\nGET /who HTTP/1.1\r\nHost: a\r\n\r\n")
            let who = try await c.readResponse()
            #expect(who.header("X-Client") == "203.0.113.7 56324")
            #expect(who.header("X-Server") == "192.0.2.10 443")
            #expect(who.header("X-Remote") == "127.0.0.1")
            #expect(who.header("X-Local") == "127.0.0.1")
            // The same connection goes on with the same client; a pass tells the backend.
            try await c.send("GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readResponse().status == 200)
            #expect(h.origin.requests.first?.header("X-Forwarded-For") == "203.0.113.7")
            await c.close()
        }
    }

    @Test func versionTwoHeaderNamesTheClient() async throws {
        try await withHarness(vcl: Self.vcl, proxyProtocol: true, script: { _ in .ok("x") }) { h in
            let c = try await h.client()
            let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [9]
            let destination: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
            let body = source + destination + [0x1F, 0x90, 0x01, 0xBB]
            let header: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x21,
                                   0, UInt8(body.count)] + body
            try await c.send(bytes: header + Array("GET /who HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
            let who = try await c.readResponse()
            #expect(who.header("X-Client") == "2001:db8::9 8080")
            #expect(who.header("X-Server") == "2001:db8::1 443")
            #expect(who.header("X-Remote") == "127.0.0.1")
            await c.close()
        }
    }

    @Test func aConnectionWithoutAHeaderIsClosed() async throws {
        try await withHarness(vcl: Self.vcl, proxyProtocol: true, script: { _ in .ok("x") }) { h in
            let c = try await h.client()
            try await c.send("GET /who HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readUntilClose(seconds: 2) == "")
            #expect(h.origin.requestCount == 0)
            // A header that names no address (a health check) keeps the connection's own.
            let check = try await h.client()
            try await check.send("PROXY UNKNOWN\r\nGET /who HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await check.readResponse().header("X-Client")?.hasPrefix("127.0.0.1 ") == true)
            await check.close()
        }
    }
}
