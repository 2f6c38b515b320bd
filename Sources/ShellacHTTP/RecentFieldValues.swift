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

struct RecentFieldValues: Sendable {
    /// Longer values are made afresh every time: a connection keeps at most
    /// `CommonFieldNames.slotCount` of these, so sending many different long values cannot make
    /// it hold much.
    static let maxRememberedLength = 128

    /// A remembered value with its length and its last sixteen bytes as two words (where values
    /// of one field differ, a Date's seconds among them): most values are told apart, and those
    /// of up to sixteen bytes matched, without reading the String.
    private struct Entry: Sendable {
        var count = 0
        var first: UInt64 = 0
        var last: UInt64 = 0
        var value = ""
    }

    /// By CommonFieldNames slot, up to the highest slot seen so far (count 0: nothing seen yet):
    /// a client connection's requests use the first few names, and every open connection holds
    /// its own list.
    private var entries: [Entry] = []
    /// Whether values and lines are kept at all.
    var remembers: Bool
    /// The last head's lines with the fields they made.
    var lines = RecentFieldLines()

    /// `remembers` false: every value is made afresh (trailers, one-off parses).
    init(remembers: Bool = true) {
        self.remembers = remembers
    }

    /// The remembered value of the common field in `slot` when it has exactly these bytes (it was
    /// checked as a field value when first read), else nil.
    mutating func value(slot: Int, _ bytes: UnsafeRawBufferPointer) -> String? {
        let count = bytes.count
        guard remembers, count <= Self.maxRememberedLength, count > 0, slot < entries.count else { return nil }
        let (first, last) = CommonFieldNames.words(Self.lastBytes(of: bytes))
        return entries.withUnsafeBufferPointer { entries -> String? in
            let entry = entries[slot]
            guard entry.count == count, entry.first == first, entry.last == last else { return nil }
            if count <= 16 { return entry.value }
            // The last sixteen bytes match: compare them all.
            let same = entry.value.withUTF8Bytes { memcmp($0.baseAddress!, bytes.baseAddress!, count) == 0 }
            return same ? entry.value : nil
        }
    }

    /// Remembers `value`, made from `bytes`, as the last value seen for the common field in `slot`.
    mutating func remember(_ value: String, bytes: UnsafeRawBufferPointer, slot: Int) {
        guard remembers, bytes.count <= Self.maxRememberedLength else { return }
        if slot >= entries.count { entries.append(contentsOf: repeatElement(Entry(), count: slot + 1 - entries.count)) }
        let (first, last) = CommonFieldNames.words(Self.lastBytes(of: bytes))
        entries[slot] = Entry(count: bytes.count, first: first, last: last, value: value)
    }

    /// The last sixteen bytes of a value (all of a shorter one).
    private static func lastBytes(of bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard bytes.count > 16 else { return bytes }
        return UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - 16)...])
    }
}
