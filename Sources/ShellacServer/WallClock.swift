// WallClock: the real time as seconds since the epoch, and a Date header value cached per second
// so the hot path never formats dates. The pure modules take time as a parameter; this is where
// the daemon reads it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ShellacHTTP
import Synchronization

public enum WallClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// The IMF-fixdate for the current second, formatted at most once per second.
final class DateHeaderCache: Sendable {
    private struct Entry: Sendable {
        var second: Int
        var text: String
    }

    private let entry = Mutex(Entry(second: -1, text: ""))

    func value(now: Double) -> String {
        let second = Int(now)
        return entry.withLock { e in
            if e.second != second {
                e.second = second
                e.text = HTTPDate.format(Double(second))
            }
            return e.text
        }
    }
}
