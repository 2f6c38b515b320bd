// Harness: a scriptable origin + the real ShellacServer + raw clients, all on loopback.

import Logging
import NIOCore
import NIOPosix
import ShellacCore
import ShellacServer
import ShellacTestSupport
import ShellacVCL
import Foundation

struct Harness {
    let origin: TestOrigin
    let server: ShellacServer
    let port: Int
    let clients: MultiThreadedEventLoopGroup

    /// - Parameter vcl: VCL text to run instead of `-b origin`; ORIGIN_PORT in it becomes the origin's port.
    static func start(parameters: [String] = [], budget: Int = 16 << 20, clock: ManualClock? = nil,
                      vcl: String? = nil, resolve: BackendResolver? = nil, accessLog: AccessLog? = nil,
                      proxyProtocol: Bool = false, moreListeners: [ListenAddress] = [],
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
        var configuration = ServerConfiguration(listenHost: "127.0.0.1", listenPort: 0, backendHost: "127.0.0.1",
                                                backendPort: origin.port, storageBudget: budget, parameters: p,
                                                clock: now)
        if let resolve { configuration.resolve = resolve }
        configuration.accessLog = accessLog
        configuration.acceptsProxyProtocol = proxyProtocol
        configuration.moreListeners = moreListeners
        if let vcl {
            configuration.vcl = try loadVCL(vcl.replacingOccurrences(of: "ORIGIN_PORT", with: "\(origin.port)"))
        }
        let server = try ShellacServer(configuration: configuration, logger: logger)
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

/// Compiles and loads VCL text (the builtin appended); throws the rendered diagnostics.
func loadVCL(_ text: String, path: String = "/test/default.vcl") throws -> VCLProgram {
    let compilation = VCLCompiler.compile(path: path) { $0 == path ? text : nil }
    switch VCLProgram.load(compilation) {
    case .success(let program): return program
    case .failure(let error): throw VCLLoadFailure(message: error.rendered)
    }
}

struct VCLLoadFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A VCL file shipped in config/, its backend port pointed at ORIGIN_PORT.
func shippedVCL(_ relativePath: String, port: String) throws -> String {
    let root = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
    let text = try String(contentsOfFile: "/" + root + "/" + relativePath, encoding: .utf8)
    return text.replacingOccurrences(of: ".port = \"\(port)\"", with: ".port = \"ORIGIN_PORT\"")
}

/// Runs `body` against a fresh harness and always stops it.
func withHarness(parameters: [String] = [], budget: Int = 16 << 20, clock: ManualClock? = nil, vcl: String? = nil,
                 resolve: BackendResolver? = nil, accessLog: AccessLog? = nil, proxyProtocol: Bool = false,
                 moreListeners: [ListenAddress] = [], script: @escaping TestOrigin.Script,
                 _ body: (Harness) async throws -> Void) async throws {
    let harness = try await Harness.start(parameters: parameters, budget: budget, clock: clock, vcl: vcl,
                                          resolve: resolve, accessLog: accessLog, proxyProtocol: proxyProtocol,
                                          moreListeners: moreListeners, script)
    do {
        try await body(harness)
    } catch {
        await harness.stop()
        throw error
    }
    await harness.stop()
}
