// return(pipe) with a slow side, over real sockets: each side is read only while the other
// takes what it is sent, so neither a client that does not read a piped download nor a backend
// that does not read a piped upload makes the daemon hold the rest in memory (it held all of it).

import ShellacTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct PipeBackpressureTests {
    /// Offered by the slow side's peer; what gets through is the sockets' worth (about 10 MB
    /// here) when each side waits for the other, all of it when not.
    static let total = 64 << 20

    static func pipeEverything(to port: Int) -> String {
        """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "\(port)"; }
        sub vcl_recv { return (pipe); }
        """
    }

    @Test func aPipedDownloadWaitsForAClientThatIsNotReading() async throws {
        let listener = try RawSocket.listen()
        defer { listener.close() }
        try await withHarness(vcl: Self.pipeEverything(to: listener.port), script: { _ in .ok("unused") }) { h in
            let origin = Task { await onOwnThread { () -> Int in
                guard let connection = listener.accept() else { return -1 }
                defer { connection.close() }
                _ = connection.readHead()
                connection.write("HTTP/1.1 200 OK\r\nContent-Length: \(Self.total)\r\n\r\n")
                return connection.writeUntilStalled(Self.total)
            } }
            let client = try await RawClient.connect(port: h.port, group: h.clients, reading: false,
                                                     receiveBuffer: 4096)
            try await client.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
            let sent = await origin.value
            #expect(sent > 0)
            #expect(sent < Self.total / 2, "the backend could send \(sent) bytes to a client reading none")
            await client.close()
        }
    }

    @Test func aPipedUploadWaitsForABackendThatIsNotReading() async throws {
        let listener = try RawSocket.listen()
        defer { listener.close() }
        try await withHarness(vcl: Self.pipeEverything(to: listener.port), script: { _ in .ok("unused") }) { h in
            let origin = Task { await onOwnThread { listener.accept(receiveBuffer: 4096) } }  // and never reads
            let client = try RawSocket.connect(port: h.port)
            defer { client.close() }
            client.write("PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: \(Self.total)\r\n\r\n")
            let sent = await onOwnThread { client.writeUntilStalled(Self.total) }
            let backend = await origin.value
            defer { backend?.close() }
            #expect(backend != nil, "the pipe reached the backend")
            #expect(sent < Self.total / 2, "the client could send \(sent) bytes to a backend reading none")
        }
    }
}
