// shellacd: the daemon's command line, in the spirit of varnishd: -a listen, -f VCL file or
// -b backend, -s memory, -p param=value, -P pid file, -C check, -x reference. Runs in the
// foreground (for systemd); SIGHUP reloads the VCL file, SIGTERM or SIGINT drains and exits 0.

import ArgumentParser
import Dispatch
import Foundation
import Logging
import ShellacCore
import ShellacServer
import ShellacVCL
import ShellacAdmin

#if canImport(Glibc)
import Glibc
#endif

struct Shellacd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shellacd",
        abstract: "Shellac: a caching reverse proxy for HTTP/1.1.",
        discussion: """
        Example: shellacd -a 127.0.0.1:6081 -f /etc/shellac/default.vcl -s malloc,256m -T 127.0.0.1:6082
                 shellacd -a 127.0.0.1:6081 -b 127.0.0.1:8000 -p default_ttl=1s
        `shellacd -x parameters` lists every -p parameter with its default, bounds and meaning.
        """)

    @Option(name: .customShort("a"), help: "Listen address, HOST:PORT[,PROXY] (default 127.0.0.1:6081); repeat it to listen on several. With ,PROXY every connection starts with a PROXY protocol header (v1 or v2) from a TLS terminator or load balancer.")
    var listen: [String] = []

    @Option(name: .customShort("b"), help: "Backend address, HOST:PORT (runs the builtin VCL; instead of -f).")
    var backend: String?

    @Option(name: .customShort("f"), help: "VCL file to run (reloaded on SIGHUP); with -C it is only checked.")
    var vclFile: String?

    @Flag(name: .customShort("C"),
          help: "Check the VCL given with -f, print its diagnostics, and exit (non-zero on errors).")
    var checkOnly = false

    @Option(name: .customShort("s"), help: "Cache storage, malloc,SIZE (e.g. malloc,256m).")
    var storage: String = "malloc,256m"

    @Option(name: .customShort("p"), help: "Set a runtime parameter, NAME=VALUE (repeatable).")
    var parameters: [String] = []

    @Option(name: .customShort("T"), help: "Open the admin channel: HOST:PORT (loopback, e.g. 127.0.0.1:6082) or unix:/path.")
    var adminAddress: String?

    @Option(name: .customShort("S"), help: "Admin secret file (default: generated as _.secret in the work directory).")
    var secretFile: String?

    @Option(name: .customShort("n"), help: "Work directory for the generated secret and the admin address (shellacadm looks there).")
    var workDirectory: String = AdminDefaults.workDirectory

    @Option(name: .long, help: "Log every request (NCSA combined, then hit/miss/pass/synth/pipe and time to first byte) to this file, or - for standard output; SIGUSR1 reopens it. Also -p access_log=FILE.")
    var accessLog: String?

    @Option(name: .long, help: "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9131); off by default. Also -p metrics_listen=HOST:PORT.")
    var metricsListen: String?

    @Option(name: .long, help: "Response header listing an object's tags for purge.tag (e.g. xkey, Cache-Tag).")
    var tagHeader: String = "Surrogate-Key"

    @Option(name: .customShort("P"), help: "Write the process id to this file.")
    var pidFile: String?

    @Option(name: .customShort("x"), help: "Print reference text and exit: parameters, builtin, variables.")
    var reference: String?

    @Flag(name: .customShort("F"), help: "Run in the foreground (always the case; accepted for varnishd users).")
    var foreground = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var params = Parameters()
        var metricsListen = self.metricsListen
        var accessLog = self.accessLog
        for assignment in parameters {
            // The two text-valued settings may be given as parameters too.
            if assignment.hasPrefix("metrics_listen=") {
                metricsListen = String(assignment.dropFirst("metrics_listen=".count))
                continue
            }
            if assignment.hasPrefix("access_log=") {
                accessLog = String(assignment.dropFirst("access_log=".count))
                continue
            }
            do {
                try params.set(assignment: assignment)
            } catch {
                throw ValidationError(error.description)
            }
        }
        params.applyVCLLimits()
        if let reference {
            switch reference {
            case "parameters": print(params.describe(), terminator: "")
            case "builtin": print(BuiltinVCL.text)
            case "variables": print(Variables.describe(), terminator: "")
            default: throw ValidationError("-x \(reference): unknown; try -x parameters, -x builtin or -x variables")
            }
            return
        }
        if checkOnly {
            guard let vclFile else { throw ValidationError("-C checks a VCL file: give it with -f FILE") }
            try Self.check(vclFile)
            return
        }
        if vclFile != nil && backend != nil {
            throw ValidationError("give either -f FILE (backends declared in the VCL) or -b HOST:PORT, not both")
        }
        let listeners = try (listen.isEmpty ? ["127.0.0.1:6081"] : listen).map { text -> ListenAddress in
            let (address, acceptsProxyProtocol) = try Self.listenProtocol(text)
            let (host, port) = try Self.hostPort(address, option: "-a")
            return ListenAddress(host: host, port: port, acceptsProxyProtocol: acceptsProxyProtocol)
        }
        let (listenHost, listenPort) = (listeners[0].host, listeners[0].port)
        let budget = try Self.storageBudget(storage)
        var configuration: ServerConfiguration
        if let vclFile {
            let program: VCLProgram
            do {
                program = try Self.load(vclFile)
            } catch let error as VCLProgram.LoadError {
                FileHandle.standardError.write(Data((error.rendered + "\n").utf8))
                FileHandle.standardError.write(Data("\(vclFile): the VCL has errors (above); nothing started\n".utf8))
                throw ExitCode(2)
            }
            configuration = ServerConfiguration(listenHost: listenHost, listenPort: listenPort, vcl: program,
                                                storageBudget: budget, parameters: params)
        } else if let backend {
            let (backendHost, backendPort) = try Self.hostPort(backend, option: "-b")
            configuration = ServerConfiguration(listenHost: listenHost, listenPort: listenPort,
                                                backendHost: backendHost, backendPort: backendPort,
                                                storageBudget: budget, parameters: params)
        } else {
            throw ValidationError("a VCL file or a backend is required: -f default.vcl, or -b HOST:PORT "
                + "(e.g. -b 127.0.0.1:8000)")
        }

        configuration.tagHeader = tagHeader
        configuration.acceptsProxyProtocol = listeners[0].acceptsProxyProtocol
        configuration.moreListeners = Array(listeners.dropFirst())
        if let accessLog {
            do {
                configuration.accessLog = try AccessLog(path: accessLog)
            } catch {
                throw ValidationError("--access-log \(accessLog): \(error)")
            }
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "shellacd")
        DescriptorLimit.raise(logger: logger)
        let server: ShellacServer
        do {
            server = try ShellacServer(configuration: configuration, logger: logger)
        } catch let error as BackendAddressError {
            throw ValidationError(error.message)
        }
        // The signals, the secret and the pid file before listening (see signals(); a directory
        // that cannot be written stops the daemon before it listens rather than after).
        let signals = Self.signals()
        let secret = try adminAddress.map { _ in try Self.adminSecret(file: secretFile, workDirectory: workDirectory) }
        if let pidFile { try Self.writePID(to: pidFile) }
        do {
            try await startListeners(server, secret: secret, metricsListen: metricsListen)
        } catch {
            if let pidFile { unlink(pidFile) }
            throw error
        }
        let reload: @Sendable () -> Void = { [vclFile] in
            guard let vclFile else {
                logger.notice("SIGHUP: nothing to reload (started with -b, not -f)")
                return
            }
            Self.reload(vclFile, into: server, logger: logger)
        }
        let log = configuration.accessLog
        let reopen: @Sendable () -> Void = {
            do {
                try log?.reopen()
                logger.notice("access log reopened")
            } catch {
                logger.error("access log could not be reopened", metadata: ["error": "\(error)"])
            }
        }
        var stoppedBy = "SIGTERM"
        waiting: for await number in signals {
            switch number {
            case SIGHUP: reload()
            case SIGUSR1: reopen()
            default:
                stoppedBy = number == SIGINT ? "SIGINT" : "SIGTERM"
                break waiting
            }
        }
        logger.info("draining", metadata: ["signal": "\(stoppedBy)"])
        await server.shutdown()
        if let pidFile { unlink(pidFile) }
    }

    /// The client listeners, then the admin channel and the metrics listener when asked for
    /// (`metricsListen`: the option's, or the metrics_listen parameter's).
    private func startListeners(_ server: ShellacServer, secret: [UInt8]?, metricsListen: String?) async throws {
        do {
            try await server.start()
        } catch let failure as ListenFailure {
            throw ValidationError("-a \(failure)")
        }
        if let adminAddress, let secret {
            do {
                try await server.startAdmin(AdminConfiguration(listen: adminAddress, secret: secret))
            } catch let error as BackendAddressError {
                throw ValidationError(error.message)  // -T is not HOST:PORT or unix:/path; it says so
            } catch {
                throw ValidationError("-T \(ListenFailure(address: adminAddress, error: error))")
            }
            try? (adminAddress + "\n").write(toFile: workDirectory + "/_.admin", atomically: true, encoding: .utf8)
        }
        if let metricsListen {
            let (host, port) = try Self.hostPort(metricsListen, option: "--metrics-listen")
            do {
                try await server.startMetrics(host: host == "0.0.0.0" && !metricsListen.hasPrefix("0.0.0.0") ? "127.0.0.1" : host,
                                              port: port)
            } catch {
                throw ValidationError("--metrics-listen \(ListenFailure(address: metricsListen, error: error))")
            }
        }
    }

    /// Compiles and loads `path` with its includes and the builtin VCL (as the daemon would);
    /// prints diagnostics to standard error.
    static func check(_ path: String) throws {
        do {
            _ = try load(path)
        } catch let error as VCLProgram.LoadError {
            FileHandle.standardError.write(Data((error.rendered + "\n").utf8))
            let count = error.diagnostics.filter { $0.severity == .error }.count
            FileHandle.standardError.write(Data("\(path): \(count) error\(count == 1 ? "" : "s")\n".utf8))
            throw ExitCode.failure
        }
        print("\(path): VCL OK (syntax, subroutines, returns, variable use, types, regexes and declarations checked)")
    }

    /// `-a HOST:PORT[,PROTOCOL]`, as varnishd reads it: HTTP (the default) or PROXY.
    static func listenProtocol(_ text: String) throws -> (address: String, acceptsProxyProtocol: Bool) {
        let parts = text.split(separator: ",", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return (text, false) }
        switch parts[1].uppercased() {
        case "PROXY": return (parts[0], true)
        case "HTTP": return (parts[0], false)
        default: throw ValidationError("-a \(text): unknown protocol '\(parts[1])'; use HTTP or PROXY")
        }
    }

    /// Reads, compiles and loads a VCL file; warnings are printed, errors thrown.
    static func load(_ path: String) throws -> VCLProgram {
        let compilation = VCLCompiler.compile(path: path) { try? String(contentsOfFile: $0, encoding: .utf8) }
        let program = try VCLProgram.load(compilation).get()  // on failure, the error renders every diagnostic
        if !program.warnings.isEmpty {
            FileHandle.standardError.write(Data((program.renderedWarnings + "\n").utf8))
        }
        return program
    }

    /// SIGHUP: compile the file again; on success new requests use it, on failure the running VCL
    /// stays and the diagnostics are logged.
    static func reload(_ path: String, into server: ShellacServer, logger: Logger) {
        do {
            let program = try load(path)
            try server.reload(program)
        } catch let error as VCLProgram.LoadError {
            logger.error("VCL reload failed; the running VCL stays in use", metadata: ["file": "\(path)"])
            FileHandle.standardError.write(Data((error.rendered + "\n").utf8))
        } catch {
            logger.error("VCL reload failed; the running VCL stays in use",
                         metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }

    /// The admin secret: the -S file's bytes, or a random one written to the work directory
    /// (mode 0600) for shellacadm to find.
    static func adminSecret(file: String?, workDirectory: String) throws -> [UInt8] {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("-S \(file): cannot read the secret file")
            }
            return Array(data)
        }
        try createWorkDirectory(workDirectory)
        let path = workDirectory + "/_.secret"
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }.joined() + "\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("-n \(workDirectory): cannot write the secret file \(path)")
        }
        chmod(path, 0o600)
        return Array(secret.utf8)
    }

    /// The work directory (mode 0700), its parents made as needed; an error names the system's
    /// reason (Foundation's own words for it name none).
    static func createWorkDirectory(_ path: String) throws {
        if mkdir(path, 0o700) == 0 { return }
        var code = errno
        if code == ENOENT {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                     withIntermediateDirectories: true)
            if mkdir(path, 0o700) == 0 { return }
            code = errno
        }
        var info = stat()
        if code == EEXIST, stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return }
        throw ValidationError("-n \(path): cannot create the work directory (\(String(cString: strerror(code)))); "
                              + "name one this user can write with -n DIR, or give the secret with -S FILE")
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

    /// The signals the daemon acts on, as they come: SIGTERM and SIGINT (drain and stop), SIGHUP
    /// (reload the VCL) and SIGUSR1 (reopen the access log). Set up before the daemon listens:
    /// each source takes a descriptor, and a connection flood at startup could otherwise take
    /// them all and leave SIGTERM ignored.
    static func signals() -> AsyncStream<Int32> {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let queue = DispatchQueue(label: "shellacd.signals")
        for number in [SIGTERM, SIGINT, SIGHUP, SIGUSR1] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            SignalSources.keep(source)
        }
        return stream
    }
}

/// Keeps the signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    /// Called from the daemon's start, before anything else runs.
    static func keep(_ source: any DispatchSourceSignal) {
        sources.append(source)
    }
}
