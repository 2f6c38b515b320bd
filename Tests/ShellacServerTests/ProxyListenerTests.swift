// A listener marked PROXY: the PROXY header's client becomes client.ip (and what the backend
// sees in X-Forwarded-For), the connection's ends stay remote.ip and local.ip, and a
// connection that does not start with a header is closed.

import NIOCore
import ShellacHTTP
import ShellacServer
import ShellacTestSupport
import Synchronization
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

    /// Several listeners, as `-a` given twice: a plain one for direct clients and a PROXY one
    /// for the TLS terminator, both serving the same cache.
    @Test func aPlainAndAProxyListenerServeTogether() async throws {
        let proxyListener = ListenAddress(host: "127.0.0.1", port: 0, acceptsProxyProtocol: true)
        try await withHarness(vcl: Self.vcl, moreListeners: [proxyListener], script: { _ in .ok("x") }) { h in
            let ports = h.server.listenAddresses.compactMap(\.port)
            #expect(ports.count == 2 && ports[0] == h.port)
            let direct = try await h.get("/who")
            #expect(direct.header("X-Client")?.hasPrefix("127.0.0.1 ") == true)
            let c = try await RawClient.connect(port: ports[1], group: h.clients)
            try await c.send("PROXY TCP4 203.0.113.7 192.0.2.10 56324 443\r\nGET /who HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readResponse().header("X-Client") == "203.0.113.7 56324")
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

/// A backend declared with `.proxy_header`: each connection to it starts with a PROXY header
/// naming the client and the address it reached, and carries one request.
@Suite(.timeLimit(.minutes(1))) struct ProxyHeaderToBackendTests {
    @Test(arguments: [1, 2])
    func eachConnectionStartsWithAHeaderNamingTheClient(version: Int) async throws {
        let origin = try await ProxyHeaderOrigin()
        defer { Task { await origin.stop() } }
        let vcl = """
        vcl 4.1;
        backend proxied { .host = "127.0.0.1"; .port = "\(origin.port)"; .proxy_header = \(version); }
        sub vcl_recv { return (pass); }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("unused") }) { h in
            for _ in 0..<2 {
                let c = try await h.client()
                try await c.send("GET /p HTTP/1.1\r\nHost: a\r\n\r\n")
                let response = try await c.readResponse()
                #expect(response.status == 200 && response.text == "ok")
                await c.close()
            }
            let seen = origin.connections
            #expect(seen.count == 2, "a connection for each request")
            for connection in seen {
                guard case .header(_, let ends?) = connection.header else {
                    Issue.record("no PROXY header naming the client: \(connection.header)"); continue
                }
                #expect(ends.source == "127.0.0.1" && ends.sourcePort > 0)
                #expect(ends.destination == "127.0.0.1" && ends.destinationPort == h.port)
                #expect(connection.head.hasPrefix("GET /p HTTP/1.1\r\n"))
            }
        }
    }

    @Test func probesSendAHeaderNamingNoClient() async throws {
        let origin = try await ProxyHeaderOrigin()
        defer { Task { await origin.stop() } }
        let vcl = """
        vcl 4.1;
        backend proxied {
            .host = "127.0.0.1"; .port = "\(origin.port)"; .proxy_header = 2;
            .probe = { .url = "/health"; .interval = 0.1s; .timeout = 1s; .window = 1; .threshold = 1; }
        }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("unused") }) { h in
            #expect(try await eventually { !origin.connections.isEmpty })
            let probe = try #require(origin.connections.first)
            #expect(probe.header == .header(length: 16, addresses: nil))  // v2 LOCAL
            #expect(probe.head.hasPrefix("GET /health HTTP/1.1\r\n"))
        }
    }
}

/// A loopback backend that expects a PROXY header before each connection's request: records the
/// header and the request head, and answers 200 "ok".
final class ProxyHeaderOrigin: Sendable {
    struct Connection: Sendable {
        var header: ProxyProtocol.Result
        var head: String
    }

    final class Recorder: Sendable {
        let list = Mutex<[Connection]>([])
    }

    private let listener: RawListener
    private let recorder = Recorder()
    var port: Int { listener.port }

    init() async throws {
        let recorder = self.recorder
        listener = try await RawListener { Reader(recorder: recorder) }
    }

    var connections: [Connection] { recorder.list.withLock { $0 } }

    func stop() async {
        await listener.stop()
    }

    private final class Reader: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let recorder: Recorder
        private var bytes: [UInt8] = []
        private var answered = false

        init(recorder: Recorder) {
            self.recorder = recorder
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
            guard !answered else { return }
            let header = bytes.withUnsafeBytes { ProxyProtocol.parse($0) }
            let start: Int
            switch header {
            case .needMore: return
            case .invalid: start = 0
            case .header(let length, _): start = length
            }
            guard let end = bytes[start...].firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            answered = true
            let head = String(decoding: bytes[start..<end.upperBound], as: UTF8.self)
            recorder.list.withLock { $0.append(Connection(header: header, head: head)) }
            let reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: no-store\r\n\r\nok"
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: reply)), promise: nil)
        }
    }
}
