// RecentFieldValues: the value each common header had in the last message a parser read, so a
// value repeated from message to message on one connection (a backend's Server, Content-Type and
// Cache-Control; a browser's User-Agent and Accept) is reused rather than made again as a String.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct RecentFieldValues: Sendable {
    /// Longer values are made afresh every time: a connection keeps at most
    /// `CommonFieldNames.slotCount` of these, so sending many different long values cannot make
    /// it hold much.
    public static let maxRememberedLength = 128

    /// By CommonFieldNames slot; empty until the first message, "" for a slot never seen.
    private var values: [String] = []
    private let remembers: Bool

    /// `remembers` false: every value is made afresh (trailers, one-off parses).
    public init(remembers: Bool = true) {
        self.remembers = remembers
    }

    /// The remembered value of the common field in `slot` when it has exactly these bytes (it was
    /// checked as a field value when first read), else nil.
    mutating func value(slot: Int, _ bytes: UnsafeRawBufferPointer) -> String? {
        guard remembers, bytes.count <= Self.maxRememberedLength, bytes.count > 0 else { return nil }
        if values.isEmpty { values = [String](repeating: "", count: CommonFieldNames.slotCount) }
        return Self.hasBytes(values[slot], bytes) ? values[slot] : nil
    }

    /// Remembers `value` as the last one seen for the common field in `slot`.
    mutating func remember(_ value: String, slot: Int) {
        guard value.utf8.count <= Self.maxRememberedLength, !values.isEmpty else { return }
        values[slot] = value
    }

    private static func hasBytes(_ value: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard value.utf8.count == bytes.count else { return false }
        return value.utf8.withContiguousStorageIfAvailable { stored in
            memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0
        } ?? false
    }
}
