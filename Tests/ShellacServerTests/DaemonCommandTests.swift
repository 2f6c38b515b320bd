// The shellacd executable as a user runs it: argument errors, the parameter table, a pid file,
// serving through a real origin with -b and with -f, SIGHUP reloads, SIGTERM drains and exits 0.

import Foundation
import NIOPosix
import ShellacTestSupport
import Testing

/// The shellacd binary built next to the test bundle.
func shellacdPath() throws -> String {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("shellacd").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw RawClientError(description: "shellacd not found near \(executable.path); build it first")
}

struct RunResult {
    var status: Int32
    var output: String
}

/// Runs shellacd to completion (bounded: it is killed after `seconds`).
func runShellacd(_ arguments: [String], seconds: Double = 10) async throws -> RunResult {
    try await runTool(try shellacdPath(), arguments, seconds: seconds)
}

/// A connection to the daemon `process` once its listener on `port` is up (waiting at most
/// about 5 s); failing with the daemon's output when it never comes up.
func connectToDaemon(port: Int, _ process: ChildProcess) async throws -> RawClient {
    for _ in 0..<200 where process.isRunning {
        if let client = try? await RawClient.connect(port: port, group: MultiThreadedEventLoopGroup.singleton) {
            return client
        }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw RawClientError(description: "no listener on port \(port): \(process.output)")
}

/// A free loopback port (bound then released).
func freePort() throws -> Int {
    let (fd, port) = bindLoopbackPort()
    close(fd)
    return port
}

/// Runs `body` with a loopback port held bound but not listening: connecting to it is refused,
/// and no other test's listener can take it meanwhile.
func withRefusingPort<R>(_ body: (Int) async throws -> R) async rethrows -> R {
    let (fd, port) = bindLoopbackPort()
    defer { close(fd) }
    return try await body(port)
}

/// A socket bound to 127.0.0.1 on a port the system chose, and that port.
private func bindLoopbackPort() -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

@Suite(.timeLimit(.minutes(1))) struct DaemonCommandTests {
    @Test(arguments: [
        (["-a", "127.0.0.1:1"], "a backend is required"),
        (["-b", "127.0.0.1"], "expected HOST:PORT"),
        (["-b", "127.0.0.1:80", "-p", "nope=1"], "unknown parameter 'nope'"),
        (["-b", "127.0.0.1:80", "-p", "timeout_idle=soon"], "cannot read 'soon'"),
        (["-b", "127.0.0.1:80", "-s", "malloc,lots"], "expected malloc,SIZE"),
        (["-b", "127.0.0.1:80", "-f", "default.vcl"], "give either -f FILE"),
        (["-f", "/nonexistent/shellac.vcl"], "cannot read the VCL file"),
        (["-C"], "give it with -f FILE"),
        (["-x", "everything"], "try -x parameters, -x builtin or -x variables"),
        (["-b", "127.0.0.1:80", "-a", "127.0.0.1:0", "-T", "nonsense"], "Error: -T nonsense: expected HOST:PORT"),
    ])
    func badArgumentsSayWhatIsWrong(arguments: [String], message: String) async throws {
        let result = try await runShellacd(arguments)
        #expect(result.status != 0)
        #expect(result.output.contains(message), "\(result.output)")
    }

    @Test func aPortInUseSaysSoForEachListener() async throws {
        let taken = try RawSocket.listen()
        defer { taken.close() }
        let address = "127.0.0.1:\(taken.port)"
        let cases = [(["-a", address], "-a \(address): cannot listen: Address already in use"),
                     (["-a", "127.0.0.1:0", "-T", address, "-n", NSTemporaryDirectory() + "shellac-port-\(getpid())"],
                      "-T \(address): cannot listen: Address already in use"),
                     (["-a", "127.0.0.1:0", "--metrics-listen", address],
                      "--metrics-listen \(address): cannot listen: Address already in use")]
        for (arguments, message) in cases {
            let result = try await runShellacd(["-b", "127.0.0.1:80"] + arguments)
            #expect(result.status != 0)
            #expect(result.output.contains(message), "\(result.output)")
        }
    }

    /// Files the daemon must write are checked before it listens: it stops with the reason
    /// rather than start serving and then exit.
    @Test(arguments: [
        (["-T", "127.0.0.1:0", "-n", "/dev/null/shellac"],
         "-n /dev/null/shellac: cannot create the work directory (Not a directory)"),
        (["-P", "/dev/null/shellacd.pid"], "-P /dev/null/shellacd.pid: cannot write the pid file"),
    ])
    func unwritableFilesStopTheDaemonBeforeItListens(arguments: [String], message: String) async throws {
        let result = try await runShellacd(["-b", "127.0.0.1:80", "-a", "127.0.0.1:0"] + arguments)
        #expect(result.status != 0)
        #expect(result.output.contains(message), "\(result.output)")
        #expect(!result.output.contains("listening"), "\(result.output)")
    }

    @Test func vclIsCheckedWithDiagnosticsAndAnExitCode() async throws {
        let directory = NSTemporaryDirectory() + "shellac-vcl-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = directory + "/good.vcl"
        try "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; .port = \"8000\"; }\n"
            .write(toFile: good, atomically: true, encoding: .utf8)
        let ok = try await runShellacd(["-C", "-f", good])
        #expect(ok.status == 0)
        #expect(ok.output.contains("VCL OK"))

        let bad = directory + "/bad.vcl"
        try "vcl 4.1;\nsub vcl_recv {\n    set resp.http.X = \"1\";\n}\nsub vcl_fetch { }\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let failed = try await runShellacd(["-C", "-f", bad])
        #expect(failed.status != 0)
        #expect(failed.output.contains("bad.vcl:3:9: error: 'resp.http.X' cannot be set in vcl_recv"))
        #expect(failed.output.contains("    set resp.http.X = \"1\";\n        ^~~~~~~~~~~"))
        #expect(failed.output.contains("hint: it is called vcl_backend_response in VCL 4"))
        #expect(failed.output.contains("2 errors"))

        let builtin = try await runShellacd(["-x", "builtin"])
        #expect(builtin.status == 0)
        #expect(builtin.output.hasPrefix("vcl 4.1;"))
        #expect(builtin.output.contains("sub vcl_backend_response"))
    }

    @Test func parameterTableIsPrinted() async throws {
        let result = try await runShellacd(["-x", "parameters", "-p", "timeout_idle=7s"])
        #expect(result.status == 0)
        #expect(result.output.contains("http_req_size"))
        #expect(result.output.contains("timeout_idle\n    Value: 7 [seconds]"))
    }

    @Test func servesThenDrainsOnSIGTERM() async throws {
        let origin = try await TestOrigin { _ in .ok("through the daemon") }
        let port = try freePort()
        let pidFile = NSTemporaryDirectory() + "shellacd-test-\(port).pid"
        let process = try ChildProcess(try shellacdPath(), ["-a", "127.0.0.1:\(port)", "-b", "127.0.0.1:\(origin.port)",
                                                            "-P", pidFile, "-p", "threads=1"])
        defer { process.terminate() }

        let c = try await connectToDaemon(port: port, process)
        try await c.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await c.readResponse().text == "through the daemon")
        await c.close()

        let pid = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(pid == String(process.pid))
        process.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(100))
        #expect(process.isRunning, "SIGHUP does not end the daemon")

        process.signal(SIGTERM)
        #expect(await process.exit(within: 10) == 0)
        #expect(!FileManager.default.fileExists(atPath: pidFile), "the pid file is removed on exit")
        let log = process.output
        #expect(log.contains("stopped"))
        #expect(log.contains("client_req=1"))
        await origin.stop()
    }

    /// Run as an unprivileged user (here as nobody when the tests run as root), the daemon
    /// listens, accepts, fetches and caches: it sets no socket option that needs privilege (it
    /// once asked for SO_DEBUG where it meant TCP_NODELAY, and as any user but root every client
    /// connection and backend connect then failed).
    @Test func servesAsAnUnprivilegedUser() async throws {
        let origin = try await TestOrigin { request in
            request.target.hasPrefix("/pass") ? .ok("passed", [("Cache-Control", "no-store")]) : .ok("cached")
        }
        let port = try freePort()
        let adminPort = try freePort()
        let metricsPort = try freePort()
        // A copy of the binary and a work directory that any user can reach.
        let directory = NSTemporaryDirectory() + "shellac-unprivileged-\(port)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory)
        let binary = directory + "/shellacd"
        try FileManager.default.copyItem(atPath: try shellacdPath(), toPath: binary)
        let arguments = ["-a", "127.0.0.1:\(port)", "-b", "127.0.0.1:\(origin.port)", "-n", directory + "/work",
                         "-T", "127.0.0.1:\(adminPort)", "-p", "threads=1",
                         "-p", "metrics_listen=127.0.0.1:\(metricsPort)"]
        let process = getuid() == 0
            ? try ChildProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary]
                               + arguments)
            : try ChildProcess(binary, arguments)
        defer { process.terminate() }

        let group = MultiThreadedEventLoopGroup.singleton
        let c = try await connectToDaemon(port: port, process)
        for _ in 0..<2 {
            try await c.send("GET /pass HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readResponse().text == "passed")
            try await c.send("GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await c.readResponse().text == "cached")
        }
        #expect(origin.requests.map(\.target) == ["/pass", "/page", "/pass"])
        await c.close()
        // The admin channel and the metrics listener answer too.
        let adm = try shellacdPath().replacingOccurrences(of: "/shellacd", with: "/shellacadm")
        let ping = try await runTool(adm, ["-n", directory + "/work", "ping"])
        #expect(ping.status == 0 && ping.output.hasPrefix("PONG "), "\(ping.output)")
        let scraper = try await RawClient.connect(port: metricsPort, group: group)
        try await scraper.send("GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n")
        #expect(try await scraper.readResponse().text.contains("shellac_requests_total 4"))
        await scraper.close()
        process.signal(SIGTERM)
        #expect(await process.exit(within: 10) == 0)
        await origin.stop()
    }

    /// `shellacd -f`: the VCL runs; SIGHUP reloads the edited file; a broken edit leaves the
    /// running VCL in place, with the diagnostics in the log.
    @Test func runsAVCLFileAndReloadsItOnSIGHUP() async throws {
        let origin = try await TestOrigin { _ in .ok("page") }
        let port = try freePort()
        let directory = NSTemporaryDirectory() + "shellac-reload-\(port)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/site.vcl"
        func write(_ marker: String) throws {
            try """
            vcl 4.1;
            backend app { .host = "127.0.0.1"; .port = "\(origin.port)"; }
            sub vcl_deliver { set resp.http.X-Version = "\(marker)"; }

            """.write(toFile: file, atomically: true, encoding: .utf8)
        }
        try write("one")
        let process = try ChildProcess(try shellacdPath(), ["-a", "127.0.0.1:\(port)", "-f", file, "-p", "threads=1"])
        defer { process.terminate() }

        let group = MultiThreadedEventLoopGroup.singleton
        func version() async throws -> String? {
            let c = try await RawClient.connect(port: port, group: group)
            defer { Task { await c.close() } }
            try await c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            return try await c.readResponse().header("X-Version")
        }
        var first: String?
        for _ in 0..<200 where first == nil {
            first = try? await version()
            if first == nil { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(first == "one")

        try write("two")
        process.signal(SIGHUP)
        #expect(try await eventually { (try? await version()) == "two" })

        try "vcl 4.1;\nsub vcl_recv { set req.http.X = resp.http.Y; }\n".write(toFile: file, atomically: true,
                                                                               encoding: .utf8)
        process.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await version() == "two", "a broken reload keeps the running VCL")
        #expect(origin.requestCount == 1, "the cache survives reloads")

        process.signal(SIGTERM)
        #expect(await process.exit(within: 10) == 0)
        let log = process.output
        #expect(log.contains("VCL reload failed; the running VCL stays in use"))
        #expect(log.contains("site.vcl:2:33: error: 'resp.http.Y' is not available in vcl_recv"))
        await origin.stop()
    }

    /// A shell's low soft limit on file descriptors is raised to the hard limit at startup (each
    /// connection takes one); a limit that cannot go higher is warned about.
    @Test func theDescriptorLimitIsRaisedToTheHardLimit() async throws {
        let port = try freePort()
        var hard = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &hard)
        try #require(hard.rlim_max > 300, "the test needs a hard limit above 300")
        for (shell, raised) in [("ulimit -S -n 300", true), ("ulimit -n 300", false)] {
            let process = try ChildProcess("/bin/sh", ["-c", "\(shell) && exec \"$0\" \"$@\"", try shellacdPath(),
                                                       "-a", "127.0.0.1:\(port)", "-b", "127.0.0.1:9", "-p", "threads=1"])
            defer { process.terminate() }
            var limits = ""
            for _ in 0..<200 where !limits.contains("Max open files") || !process.output.contains("listening") {
                try await Task.sleep(for: .milliseconds(25))
                limits = (try? String(contentsOfFile: "/proc/\(process.pid)/limits", encoding: .utf8)) ?? ""
            }
            let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }.map(String.init) ?? ""
            let numbers = line.split(separator: " ").compactMap { Int($0) }
            if raised {
                #expect(numbers.count == 2 && numbers[0] == numbers[1] && numbers[0] > 300, "\(line)")
                #expect(process.output.contains("file descriptor limit raised to the hard limit"))
            } else {
                #expect(numbers == [300, 300], "\(line)")
                #expect(process.output.contains("few file descriptors"))
            }
            process.signal(SIGTERM)
            #expect(await process.exit(within: 10) == 0)
        }
    }

    /// Out of file descriptors (a connection flood against a low limit), the listener pauses
    /// accept_backoff between attempts instead of retrying at once: it failed thousands of times a
    /// second, an event loop at full CPU, while the flood lasted. Once descriptors are free again
    /// it serves, and the failures are counted (sess_fail) and logged. Backend connections that
    /// fail for want of descriptors meanwhile (503) do not count against the backend's health:
    /// they made it sick, and it went on failing for backend_sick_retry after the flood.
    @Test func runningOutOfDescriptorsPausesAcceptingInsteadOfSpinning() async throws {
        let origin = try await TestOrigin { _ in .ok("served") }
        let port = try freePort()
        let process = try ChildProcess("/bin/sh", ["-c", "ulimit -n 40 && exec \"$0\" \"$@\"", try shellacdPath(),
                                                   "-a", "127.0.0.1:\(port)", "-b", "127.0.0.1:\(origin.port)",
                                                   "-p", "threads=1", "-p", "accept_backoff=0.25s"])
        defer { process.terminate() }
        let group = MultiThreadedEventLoopGroup.singleton
        let held = try await connectToDaemon(port: port, process)  // accepted before the flood

        let started = ContinuousClock.now
        let flood = (0..<60).compactMap { _ in try? RawSocket.connect(port: port) }
        #expect(flood.count == 60, "the backlog takes what the daemon cannot accept")
        try await Task.sleep(for: .seconds(1))
        for n in 0..<6 {  // more than backend_failure_threshold
            try await held.send("GET /during-\(n) HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await held.readResponse().status == 503, "no descriptor for a backend connection")
        }
        await held.close()
        flood.forEach { $0.close() }

        var answer: String?
        for _ in 0..<40 where answer == nil {
            if let client = try? await RawClient.connect(port: port, group: group) {
                try await client.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
                answer = try? await client.readResponse().text
                await client.close()
            }
            if answer == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(answer == "served", "accepting resumes once descriptors are free")
        let elapsed = ContinuousClock.now - started
        process.signal(SIGTERM)
        let status = await process.exit(within: 15)
        let log = process.output
        #expect(status == 0, "\(log)")
        #expect(log.contains("accepting a connection failed; waiting before accepting again"))
        let failures = log.split(separator: " ").first { $0.hasPrefix("sess_fail=") }.flatMap { Int($0.dropFirst(10)) }
        let bound = Int(elapsed / .milliseconds(250)) + 2
        #expect((1...bound).contains(failures ?? 0), "\(failures.map(String.init) ?? "no count") failed accepts, at most \(bound)")
        await origin.stop()
    }

    /// shellacd -T with a generated secret, and shellacadm finding both in the work directory.
    @Test func shellacadmRunsCommandsWithExitCodes() async throws {
        let origin = try await TestOrigin { _ in .ok("page") }
        let port = try freePort()
        let adminPort = try freePort()
        let metricsPort = try freePort()
        let work = NSTemporaryDirectory() + "shellac-work-\(port)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let process = try ChildProcess(try shellacdPath(), [
            "-a", "127.0.0.1:\(port)", "-b", "127.0.0.1:\(origin.port)", "-T", "127.0.0.1:\(adminPort)", "-n", work,
            "-p", "threads=1", "-p", "metrics_listen=127.0.0.1:\(metricsPort)", "-p", "access_log=\(work)/access.log",
        ])
        defer { process.terminate() }
        let adm = try shellacdPath().replacingOccurrences(of: "/shellacd", with: "/shellacadm")
        var ping = try await runTool(adm, ["-n", work, "ping"])
        for _ in 0..<200 where ping.status != 0 {
            try await Task.sleep(for: .milliseconds(25))
            ping = try await runTool(adm, ["-n", work, "ping"])
        }
        // The daemon's own output says why when it never answered (a port taken meanwhile, say).
        try #require(ping.status == 0, "shellacd: \(process.output)")
        #expect(ping.output.hasPrefix("PONG "))
        let attributes = try FileManager.default.attributesOfItem(atPath: work + "/_.secret")
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "the generated secret is private")
        let unknown = try await runTool(adm, ["-n", work, "vcl.frobnicate"])
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("Unknown request 'vcl.frobnicate'"))
        let json = try await runTool(adm, ["-n", work, "-j", "backend.list"])
        #expect(json.status == 0)
        #expect(json.output.contains("\"name\": \"default\""))
        let interactive = try ChildProcess(adm, ["-n", work], input: true)
        interactive.send("status\nquit\n")
        #expect(await interactive.exit(within: 10) != nil)
        let transcript = interactive.output
        #expect(transcript.contains("shellac> Child in state running"))
        let proxied = try await RawClient.connect(port: port, group: MultiThreadedEventLoopGroup.singleton)
        try await proxied.send("GET /logged HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try await proxied.readResponse()
        await proxied.close()
        let scraper = try await RawClient.connect(port: metricsPort, group: MultiThreadedEventLoopGroup.singleton)
        try await scraper.send("GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n")
        let metrics = try await scraper.readResponse()
        await scraper.close()
        #expect(metrics.text.contains("shellac_requests_total 1"))
        let logged = try await eventually {
            (try? String(contentsOfFile: work + "/access.log", encoding: .utf8))?.contains("GET /logged HTTP/1.1") == true
        }
        #expect(logged, "the access log is written within a second")
        let noDaemon = try await withRefusingPort { free in
            try await runTool(adm, ["-T", "127.0.0.1:\(free)", "-S", work + "/_.secret", "ping"])
        }
        #expect(noDaemon.status == 2)
        #expect(noDaemon.output.contains("cannot connect"))
        await origin.stop()
    }
}

@Suite struct ChildProcessTests {
    @Test func aChildInheritsOnlyItsStandardStreams() throws {
        let (held, _) = bindLoopbackPort()  // an open socket the child must not see
        defer { close(held) }
        let child = try ChildProcess("/bin/sh", ["-c", "ls /proc/$$/fd; echo done >&2"])
        #expect(child.wait(seconds: 10) == 0)
        let descriptors = child.output.split(separator: "\n").filter { $0 != "done" }
        #expect(descriptors.allSatisfy { Int($0).map { $0 <= 2 || $0 >= 10 } ?? false }, "\(descriptors)")
        #expect(!descriptors.contains(Substring(String(held))))
        #expect(child.output.contains("done"))
    }
}
