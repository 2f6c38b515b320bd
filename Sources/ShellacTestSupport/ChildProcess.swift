// ChildProcess: a program a test starts (shellacd, shellacadm, varnishadm), spawned with
// posix_spawn. Foundation's Process is not used: on Linux its launch lists /proc/self/fd with a
// read past the end of each directory entry and now and then crashes a test process that holds
// many sockets. The child inherits only stdin, stdout and stderr. Output (stdout and stderr
// together) goes to a temporary file, read on demand, so a chatty child never blocks on a full
// pipe; input, when asked for, is a pipe.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

public final class ChildProcess: @unchecked Sendable {
    public struct LaunchError: Error, CustomStringConvertible {
        public let description: String
    }

    public let pid: pid_t
    private let outputPath: String
    private var inputFD: Int32
    private var exitStatus: Int32?

    /// Starts `path` with `arguments`; `input` true gives it a pipe on stdin (see `send`).
    public init(_ path: String, _ arguments: [String], input: Bool = false) throws {
        outputPath = NSTemporaryDirectory() + "child-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var inputPipe: [Int32] = [-1, -1]
        if input {
            guard pipe(&inputPipe) == 0 else { throw LaunchError(description: "pipe: errno \(errno)") }
            posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
            posix_spawn_file_actions_addclose(&actions, inputPipe[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of the test process (other tests' sockets and listeners) is inherited.
        guard let closeFrom = Self.closeFrom, closeFrom(&actions, 3) == 0 else {
            throw LaunchError(description: "posix_spawn_file_actions_addclosefrom_np is not available")
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let result = argv.withUnsafeBufferPointer { pointer in
            posix_spawn(&child, path, &actions, nil, UnsafeMutablePointer(mutating: pointer.baseAddress!), environ)
        }
        if input { close(inputPipe[0]) }
        guard result == 0 else {
            if input { close(inputPipe[1]) }
            throw LaunchError(description: "posix_spawn \(path): error \(result)")
        }
        pid = child
        inputFD = inputPipe[1]
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = wait(seconds: 5)
        }
        if inputFD >= 0 { close(inputFD) }
        unlink(outputPath)
    }

    /// Writes `text` to the child's stdin, then closes it when `closing`.
    public func send(_ text: String, closing: Bool = true) {
        guard inputFD >= 0 else { return }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(inputFD, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { break }
            offset += written
        }
        if closing {
            close(inputFD)
            inputFD = -1
        }
    }

    public var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { exitStatus = Self.decode(status) }
        return exitStatus == nil && reaped == 0
    }

    /// Waits (bounded) for the child to end; its exit status (128 + signal when killed), or nil
    /// if it is still running after `seconds`.
    @discardableResult
    public func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { usleep(10_000) }
        return exitStatus
    }

    /// As `wait`, for async tests: it polls with Task.sleep rather than blocking the thread (a
    /// blocked thread of Swift's cooperative pool stalls other tests' tasks).
    public func exit(within seconds: Double) async -> Int32? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return exitStatus
    }

    /// The exit status; the child must have ended (`wait`).
    public var terminationStatus: Int32 { exitStatus ?? -1 }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    public func terminate() { signal(SIGTERM) }

    /// Everything the child wrote to stdout and stderr so far.
    public var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34 and later), which Swift's Glibc
    /// module does not declare.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
