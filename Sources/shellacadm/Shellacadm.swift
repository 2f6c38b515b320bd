// shellacadm: the operator's client for shellacd's admin channel (Varnish's CLI protocol): runs
// one command and exits non-zero unless it succeeded, or, without a command, reads commands at a
// prompt. Finds the address and secret in the work directory when not given.

import ArgumentParser
import Foundation
import ShellacAdmin

#if canImport(Glibc)
import Glibc
#endif

@main
struct Shellacadm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shellacadm",
        abstract: "Control a running shellacd: purge, ban, reload VCL, backends, parameters, statistics.",
        discussion: """
        Examples: shellacadm ping
                  shellacadm ban req.url '~' '^/news/'
                  shellacadm -T 127.0.0.1:6082 -S /etc/shellac/secret vcl.load new /etc/shellac/new.vcl
        `shellacadm help` lists every command.
        """)

    @Option(name: .customShort("T"), help: "Admin address, HOST:PORT or unix:/path (default: from the work directory).")
    var address: String?

    @Option(name: .customShort("S"), help: "Secret file (default: _.secret in the work directory).")
    var secretFile: String?

    @Option(name: .customShort("n"), help: "shellacd's work directory.")
    var workDirectory: String = AdminDefaults.workDirectory

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments; none for a prompt.")
    var command: [String] = []

    func run() throws {
        let address = try address ?? readFile(workDirectory + "/_.admin").trimmingCharacters(in: .whitespacesAndNewlines)
        let secretPath = secretFile ?? workDirectory + "/_.secret"
        let client: AdminClient
        do {
            client = try AdminClient(address: address, secretFile: secretPath)
        } catch {
            FileHandle.standardError.write(Data("shellacadm: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if !command.isEmpty {
            var words = command
            // `shellacadm -j backend.list` means `backend.list -j`, as the protocol wants it.
            if words.first == "-j", words.count > 1 { words.swapAt(0, 1) }
            let response = try client.send(words)
            print(response.body)
            if !response.isOK { throw ExitCode(1) }
            return
        }
        // Interactive: one command per line until EOF or "quit". `history` lists the commands
        // given (kept across sessions in ~/.shellacadm_history), `!N` runs number N again.
        var history = History()
        while true {
            print("shellac> ", terminator: "")
            fflush(nil)  // every output stream: the prompt shows before the input is read
            guard let line = readLine() else { break }
            var trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed == "quit" || trimmed == "exit" { break }
            if trimmed == "history" {
                print(history.listing)
                continue
            }
            if trimmed.hasPrefix("!") {
                guard let recalled = history.entry(String(trimmed.dropFirst())) else {
                    print("shellacadm: no command \(trimmed) in the history")
                    continue
                }
                print(recalled)
                trimmed = recalled
            }
            history.add(trimmed)
            do {
                let response = try client.send(line: trimmed)
                print(response.isOK ? response.body : "\(response.status): \(response.body)")
            } catch {
                print("shellacadm: \(error)")
                throw ExitCode(2)
            }
        }
    }

    func readFile(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("no admin address given (-T) and none found in \(path): is shellacd running with -T?")
        }
        return text
    }
}

/// The interactive prompt's command history, kept in ~/.shellacadm_history (last 500).
struct History {
    private(set) var entries: [String]
    private let path: String?

    init() {
        path = ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.shellacadm_history" }
        entries = path.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }?
            .split(separator: "\n").map(String.init) ?? []
    }

    mutating func add(_ line: String) {
        entries.append(line)
        if entries.count > 500 { entries.removeFirst(entries.count - 500) }
        if let path { try? (entries.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8) }
    }

    /// "!!" is the last command, "!N" the Nth.
    func entry(_ reference: String) -> String? {
        if reference == "!" { return entries.last }
        guard let number = Int(reference), number >= 1, number <= entries.count else { return nil }
        return entries[number - 1]
    }

    var listing: String {
        entries.enumerated().map { "\($0.offset + 1)  \($0.element)" }.joined(separator: "\n")
    }
}

/// A blocking connection to the admin channel, authenticated on connect.
final class AdminClient {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(address: String, secretFile: String) throws {
        fd = try Self.connect(address)
        let banner = try receive()
        if banner.status == CLIStatus.authenticate.rawValue {
            guard let secret = FileManager.default.contents(atPath: secretFile) else {
                throw CLIProtocolError("authentication required, and the secret file \(secretFile) cannot be read")
            }
            let challenge = String(banner.body.prefix(32))
            let answer = CLIAuthentication.answer(challenge: challenge, secret: Array(secret))
            let result = try send(line: "auth \(answer)")
            guard result.isOK else { throw CLIProtocolError("authentication failed: \(result.body)") }
        } else if !banner.isOK {
            throw CLIProtocolError("unexpected greeting \(banner.status): \(banner.body)")
        }
    }

    deinit { close(fd) }

    func send(_ words: [String]) throws -> CLIResponse {
        try send(line: words.map(CLICommandLine.quote).joined(separator: " "))
    }

    func send(line: String) throws -> CLIResponse {
        let bytes = Array((line + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw CLIProtocolError("connection lost while sending") }
            sent += n
        }
        return try receive()
    }

    private func receive() throws -> CLIResponse {
        while true {
            if let response = try CLIResponse.decode(&buffer) { return response }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { throw CLIProtocolError("shellacd closed the connection") }
            buffer += chunk[0..<n]
        }
    }

    private static func connect(_ address: String) throws -> Int32 {
        if address.hasPrefix("unix:") {
            let path = String(address.dropFirst(5))
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                let bytes = Array(path.utf8.prefix(raw.count - 1))
                raw.copyBytes(from: bytes + [0])
            }
            let result = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard result == 0 else { close(fd); throw CLIProtocolError("cannot connect to \(address)") }
            return fd
        }
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw CLIProtocolError("-T \(address): expected HOST:PORT or unix:/path")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else {
            throw CLIProtocolError("cannot resolve \(host)")
        }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            close(fd)
            throw CLIProtocolError("cannot connect to \(address): is shellacd running with -T \(address)?")
        }
        return fd
    }
}
