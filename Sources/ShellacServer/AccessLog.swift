// AccessLog: one line per request in NCSA combined format, followed by how the cache handled it
// (hit, miss, pass, synth, pipe) and the time to first byte in seconds — as varnishncsa prints
// with `%{Varnish:handling}x %{Varnish:time_firstbyte}x`. Lines are buffered and written at
// least once a second; `reopen` (on SIGUSR1) starts a new file after log rotation.

import Foundation
import Synchronization

public final class AccessLog: Sendable {
    private struct State: Sendable {
        var fd: Int32
        var pending: [UInt8] = []
    }

    /// A file path, or "-" for standard output.
    public let path: String
    private let state: Mutex<State>
    private static let flushSize = 64 * 1024

    public init(path: String) throws {
        self.path = path
        state = Mutex(State(fd: try Self.open(path)))
    }

    private static func open(_ path: String) throws -> Int32 {
        if path == "-" { return 1 }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw BackendAddressError(message: "access log \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    func append(_ line: String) {
        let full = state.withLock { state -> Bool in
            state.pending += line.utf8
            state.pending.append(10)
            return state.pending.count >= Self.flushSize
        }
        if full { flush() }
    }

    public func flush() {
        state.withLock { state in
            var offset = 0
            while offset < state.pending.count {
                let n = state.pending[offset...].withUnsafeBytes { write(state.fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                offset += n
            }
            state.pending.removeAll(keepingCapacity: true)
        }
    }

    /// Closes and opens the file again (after logrotate moved it).
    public func reopen() throws {
        flush()
        let fresh = try Self.open(path)
        state.withLock { state in
            if state.fd > 2 { close(state.fd) }
            state.fd = fresh
        }
    }

    /// `[27/Nov/2026:04:31:00 +0000]`'s inside.
    static func timestamp(_ time: Double) -> String {
        var seconds = time_t(time)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(parts.tm_mday))/\(months[Int(parts.tm_mon)])/\(Int(parts.tm_year) + 1900):"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }

    /// One line: host, identity, user, time, request line, status, bytes, referer, user agent,
    /// handling, time to first byte.
    static func line(client: String, time: Double, method: String, target: String, version: String, status: Int,
                     bytes: Int, referer: String?, userAgent: String?, handling: String, firstByte: Double) -> String {
        func quoted(_ value: String?) -> String {
            guard let value else { return "\"-\"" }
            return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                + "\""
        }
        return "\(client) - - [\(timestamp(time))] \(quoted("\(method) \(target) \(version)")) \(status) "
            + "\(bytes == 0 ? "-" : String(bytes)) \(quoted(referer)) \(quoted(userAgent)) \(handling) "
            + String(format: "%.6f", firstByte)
    }
}
