// CommonFieldNames: the header names seen on most messages, as Strings made once. A parsed name
// that matches one byte for byte reuses it instead of making a new String (and checking its bytes
// are UTF-8): most of a head's names are these. Found by the name's bit (HTTPField.nameBit), then
// compared as two words.

enum CommonFieldNames {
    private struct Entry {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var count = 0
        var name = ""
        /// The name's position in `names`, shared by its spellings (RecentFieldValues' slot).
        var slot = 0
    }

    private static let names = ["Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Connection",
                                "Cookie", "Referer", "Cache-Control", "Pragma", "Authorization", "If-None-Match",
                                "Content-Type", "Content-Length", "Date", "Server", "Last-Modified", "ETag",
                                "Expires", "Age", "Vary", "Via", "Set-Cookie", "Location", "Keep-Alive", "Upgrade",
                                "Origin", "Content-Encoding", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP",
                                "Accept-Ranges"]

    /// How many common names there are (each spelling of one shares its slot).
    static var slotCount: Int { names.count }

    /// Entries a bit may hold (names of one bit, usually a name and its lower-case spelling).
    private static let perBit = 4
    /// `perBit` entries for each of the 64 bits; an entry with count 0 is empty.
    private static let entries: [Entry] = {
        var entries = [Entry](repeating: Entry(), count: 64 * perBit)
        let spellings = names.indices.map { ($0, names[$0]) } + names.indices.map { ($0, names[$0].lowercased()) }
        for (slot, name) in spellings {
            let bytes = Array(name.utf8)
            guard bytes.count <= 16 else { continue }
            var entry = Entry(count: bytes.count, name: name, slot: slot)
            (entry.low, entry.high) = bytes.withUnsafeBytes { words($0) }
            let bit = bitIndex(HTTPField.nameBit(name))
            if let free = (0..<perBit).first(where: { entries[bit * perBit + $0].count == 0 }) {
                entries[bit * perBit + free] = entry
            }
        }
        return entries
    }()

    /// The shared String for a name spelled exactly as `bytes`, and its slot, or nil.
    static func name(_ bytes: UnsafeRawBufferPointer, nameBit: UInt64) -> (name: String, slot: Int)? {
        guard bytes.count <= 16 else { return nil }
        let (low, high) = words(bytes)
        let start = bitIndex(nameBit) * perBit
        for index in start..<(start + perBit) {
            if entries[index].count == 0 { return nil }
            if entries[index].count == bytes.count && entries[index].low == low && entries[index].high == high {
                return (entries[index].name, entries[index].slot)
            }
        }
        return nil
    }

    /// Up to 16 bytes as two words: with the length, they tell every such text apart. Read as
    /// the first and the last word that fit, overlapping when the name is shorter than two words
    /// (no byte outside the name is read).
    @inline(__always)
    static func words(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        let count = bytes.count
        if count >= 8 {
            return (bytes.loadUnaligned(as: UInt64.self), bytes.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
        }
        if count >= 4 {
            return (UInt64(bytes.loadUnaligned(as: UInt32.self)),
                    UInt64(bytes.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
        }
        var low: UInt64 = 0
        for index in 0..<count { low |= UInt64(bytes[index]) << (8 * index) }
        return (low, 0)
    }

    private static func bitIndex(_ nameBit: UInt64) -> Int {
        nameBit.trailingZeroBitCount
    }
}
