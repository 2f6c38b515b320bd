// Harness: a scriptable origin + the real ShellacServer + raw clients, all on loopback.

import Logging
import NIOCore
import NIOPosix
import ShellacCore
import ShellacServer
import ShellacTestSupport

struct Harness {
    let origin: TestOrigin
    let server: ShellacServer
    let port: Int
    let clients: MultiThreadedEventLoopGroup

    static func start(parameters: [String] = [], budget: Int = 16 << 20, clock: ManualClock? = nil,
                      _ script: @escaping TestOrigin.Script) async throws -> Harness {
        let origin = try await TestOrigin(script)
        var p = Parameters()
        try p.set("threads", "2")
        for assignment in parameters { try p.set(assignment: assignment) }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let now: @Sendable () -> Double
        if let clock {
            now = { clock.now }
        } else {
            now = WallClock.now
        }
        let server = try ShellacServer(
            configuration: ServerConfiguration(listenHost: "127.0.0.1", listenPort: 0, backendHost: "127.0.0.1",
                                               backendPort: origin.port, storageBudget: budget, parameters: p,
                                               clock: now),
            logger: logger)
        let address = try await server.start()
        return Harness(origin: origin, server: server, port: address.port!,
                       clients: MultiThreadedEventLoopGroup(numberOfThreads: 1))
    }

    func client() async throws -> RawClient {
        try await RawClient.connect(port: port, group: clients)
    }

    /// One request on a fresh connection; returns its response.
    func get(_ target: String, _ headers: [(String, String)] = [], method: String = "GET") async throws -> TestResponse {
        let c = try await client()
        var text = "\(method) \(target) HTTP/1.1\r\nHost: example.com\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        do {
            try await c.send(text + "\r\n")
            let response = try await c.readResponse(forHEAD: method == "HEAD")
            await c.close()
            return response
        } catch {
            await c.close()
            throw error
        }
    }

    func stop() async {
        await server.shutdown()
        await origin.stop()
        try? await clients.shutdownGracefully()
    }
}

/// Runs `body` against a fresh harness and always stops it.
func withHarness(parameters: [String] = [], budget: Int = 16 << 20, clock: ManualClock? = nil,
                 script: @escaping TestOrigin.Script, _ body: (Harness) async throws -> Void) async throws {
    let harness = try await Harness.start(parameters: parameters, budget: budget, clock: clock, script)
    do {
        try await body(harness)
    } catch {
        await harness.stop()
        throw error
    }
    await harness.stop()
}
