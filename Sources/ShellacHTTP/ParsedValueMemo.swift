// ParsedValueMemo: the last Cache-Control and Date values each thread parsed, with what they
// gave. A backend answers with the same Cache-Control every time and the same Date for a second,
// and the head parser hands out the same String for a repeated line (RecentFieldLines), so the
// comparison usually ends at the String's identity: about 800 instructions a response were spent
// parsing them again (Cache-Control's directives; a Date's day, month, year and time).
// One per thread (each event loop is one), so it needs no lock.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

final class ParsedValueMemo {
    private var cacheControlText: String?
    private var cacheControl = CacheControl()
    private var dateText: String?
    private var date: Double?

    /// `value` parsed as one Cache-Control field value.
    func cacheControl(_ value: String) -> CacheControl {
        if value == cacheControlText { return cacheControl }
        let parsed = CacheControl(parsing: [value])
        cacheControlText = value
        cacheControl = parsed
        return parsed
    }

    /// `value` parsed as an HTTP date.
    func date(_ value: String) -> Double? {
        if value == dateText { return date }
        let parsed = HTTPDate.parse(value)
        dateText = value
        date = parsed
        return parsed
    }

    /// This thread's memo.
    static var current: ParsedValueMemo {
        if let existing = pthread_getspecific(key) { return Unmanaged<ParsedValueMemo>.fromOpaque(existing).takeUnretainedValue() }
        let memo = ParsedValueMemo()
        pthread_setspecific(key, Unmanaged.passRetained(memo).toOpaque())
        return memo
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<ParsedValueMemo>.fromOpaque(pointer).release() }
        }
        return key
    }()
}
