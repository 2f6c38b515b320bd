// shellacd: the daemon's command line, in the spirit of varnishd: -a listen, -b backend,
// -s memory, -p param=value, -P pid file, -x parameters. Runs in the foreground (for systemd)
// until SIGTERM or SIGINT, then drains and exits 0.

import ArgumentParser
import Dispatch
import Foundation
import Logging
import ShellacCore
import ShellacServer
import ShellacVCL

#if canImport(Glibc)
import Glibc
#endif

@main
struct Shellacd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shellacd",
        abstract: "Shellac: a caching reverse proxy for HTTP/1.1.",
        discussion: """
        Example: shellacd -a 127.0.0.1:6081 -b 127.0.0.1:8000 -s malloc,256m -p default_ttl=1s
        `shellacd -x parameters` lists every -p parameter with its default, bounds and meaning.
        """)

    @Option(name: .customShort("a"), help: "Listen address, HOST:PORT (default 127.0.0.1:6081).")
    var listen: String = "127.0.0.1:6081"

    @Option(name: .customShort("b"), help: "Backend address, HOST:PORT.")
    var backend: String?

    @Option(name: .customShort("f"), help: "VCL file; with -C it is checked (running a VCL is not supported yet).")
    var vclFile: String?

    @Flag(name: .customShort("C"),
          help: "Check the VCL given with -f, print its diagnostics, and exit (non-zero on errors).")
    var checkOnly = false

    @Option(name: .customShort("s"), help: "Cache storage, malloc,SIZE (e.g. malloc,256m).")
    var storage: String = "malloc,256m"

    @Option(name: .customShort("p"), help: "Set a runtime parameter, NAME=VALUE (repeatable).")
    var parameters: [String] = []

    @Option(name: .customShort("P"), help: "Write the process id to this file.")
    var pidFile: String?

    @Option(name: .customShort("x"), help: "Print reference text and exit: parameters, builtin.")
    var reference: String?

    @Flag(name: .customShort("F"), help: "Run in the foreground (always the case; accepted for varnishd users).")
    var foreground = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var params = Parameters()
        for assignment in parameters {
            do {
                try params.set(assignment: assignment)
            } catch {
                throw ValidationError(error.description)
            }
        }
        if let reference {
            switch reference {
            case "parameters": print(params.describe(), terminator: "")
            case "builtin": print(BuiltinVCL.text)
            default: throw ValidationError("-x \(reference): unknown; try -x parameters or -x builtin")
            }
            return
        }
        if checkOnly {
            guard let vclFile else { throw ValidationError("-C checks a VCL file: give it with -f FILE") }
            try Self.check(vclFile)
            return
        }
        if vclFile != nil {
            throw ValidationError("-f: running a VCL is not supported by this version yet (check one with -C -f FILE); "
                + "use -b HOST:PORT")
        }
        guard let backend else {
            throw ValidationError("a backend is required: -b HOST:PORT (e.g. -b 127.0.0.1:8000)")
        }
        let (listenHost, listenPort) = try Self.hostPort(listen, option: "-a")
        let (backendHost, backendPort) = try Self.hostPort(backend, option: "-b")
        let budget = try Self.storageBudget(storage)

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "shellacd")
        let server = try ShellacServer(
            configuration: ServerConfiguration(listenHost: listenHost, listenPort: listenPort,
                                               backendHost: backendHost, backendPort: backendPort,
                                               storageBudget: budget, parameters: params),
            logger: logger)
        try await server.start()
        if let pidFile { try Self.writePID(to: pidFile) }
        let signal = await Self.waitForTermination(logger: logger)
        logger.info("draining", metadata: ["signal": "\(signal)"])
        await server.shutdown()
        if let pidFile { unlink(pidFile) }
    }

    /// Compiles `path` with its includes and the builtin VCL; prints diagnostics to standard error.
    static func check(_ path: String) throws {
        let compilation = VCLCompiler.compile(path: path) { try? String(contentsOfFile: $0, encoding: .utf8) }
        if !compilation.diagnostics.isEmpty {
            FileHandle.standardError.write(Data((compilation.renderedDiagnostics + "\n").utf8))
        }
        guard !compilation.hasErrors else {
            let count = compilation.diagnostics.filter { $0.severity == .error }.count
            FileHandle.standardError.write(Data("\(path): \(count) error\(count == 1 ? "" : "s")\n".utf8))
            throw ExitCode.failure
        }
        print("\(path): VCL OK (syntax, subroutines, returns, variable use, types and regexes checked)")
    }

    /// "HOST:PORT", "[v6]:PORT" or ":PORT" (all interfaces).
    static func hostPort(_ text: String, option: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ValidationError("\(option) \(text): expected HOST:PORT, e.g. 127.0.0.1:6081")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// "malloc,256m" or "256m".
    static func storageBudget(_ text: String) throws -> Int {
        var size = Substring(text)
        if size.hasPrefix("malloc,") { size = size.dropFirst("malloc,".count) }
        guard let bytes = Parameters.parseBytes(String(size)), bytes >= 1024 else {
            throw ValidationError("-s \(text): expected malloc,SIZE with SIZE like 256m or 1g")
        }
        return Int(bytes)
    }

    static func writePID(to path: String) throws {
        let text = "\(getpid())\n"
        guard let file = fopen(path, "w") else {
            throw ValidationError("-P \(path): cannot write the pid file")
        }
        fputs(text, file)
        fclose(file)
    }

    /// Suspends until SIGTERM or SIGINT arrives; returns its name. SIGHUP (reload) is logged and
    /// ignored until there is a VCL to reload, rather than ending the process.
    static func waitForTermination(logger: Logger) async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let queue = DispatchQueue(label: "shellacd.signals")
            let resumed = SignalLatch(continuation)
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGHUP, "SIGHUP")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                if number == SIGHUP {
                    source.setEventHandler { logger.notice("SIGHUP: nothing to reload (no VCL in this version)") }
                } else {
                    source.setEventHandler { resumed.fire(name) }
                }
                source.resume()
                SignalLatch.keep(source)
            }
        }
    }
}

/// Resumes the waiting continuation once, whichever signal comes first; keeps the sources alive.
final class SignalLatch: @unchecked Sendable {
    private var continuation: CheckedContinuation<String, Never>?
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<String, Never>) {
        self.continuation = continuation
    }

    /// Called on the serial signal queue only.
    func fire(_ name: String) {
        continuation?.resume(returning: name)
        continuation = nil
    }

    static func keep(_ source: any DispatchSourceSignal) {
        sources.append(source)
    }
}
