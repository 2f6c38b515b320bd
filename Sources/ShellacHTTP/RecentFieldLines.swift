// RecentFieldLines: the field each line of the last head a parser read became, kept with the
// line's bytes, so that a line repeated byte for byte at the same place in the next head is that
// field again without being parsed (finding the colon, the name's bit and shared String, the
// value's bounds and its check). Most of a head repeats from message to message on a connection:
// a backend's Server, Content-Type, Cache-Control and, within a second, Date; a browser's Host,
// User-Agent and Accept lines.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct RecentFieldLines: Sendable {
    /// Lines further down a head, or longer, are parsed every time: a connection keeps at most
    /// this many lines of this many bytes.
    static let maxLines = 24
    static let maxLineLength = 128

    private struct Line: Sendable {
        var bytes: [UInt8]
        var field: HTTPField
    }

    private var lines: [Line] = []

    /// The field line `index` made in the last head, when `line` has exactly its bytes.
    func field(at index: Int, _ line: UnsafeRawBufferPointer) -> HTTPField? {
        guard index < lines.count, let start = line.baseAddress else { return nil }
        // Read in place: a copy of the entry retained and released its bytes and Strings.
        return lines.withUnsafeBufferPointer { lines -> HTTPField? in
            guard lines[index].bytes.count == line.count else { return nil }
            let same = lines[index].bytes.withUnsafeBytes { memcmp($0.baseAddress!, start, line.count) == 0 }
            return same ? lines[index].field : nil
        }
    }

    /// Remembers the field line `index` made. Lines are remembered in order, each after the ones
    /// above it, so a head's lines fill the list from the top.
    /// A line too long to keep holds its place with no bytes, which no line matches.
    mutating func remember(_ field: HTTPField, at index: Int, _ line: UnsafeRawBufferPointer) {
        guard index < Self.maxLines, index <= lines.count else { return }
        let kept = line.count <= Self.maxLineLength ? line : UnsafeRawBufferPointer(start: nil, count: 0)
        if index == lines.count {
            lines.append(Line(bytes: Array(kept), field: field))
            return
        }
        // In place: the bytes' storage is reused when it has room.
        lines[index].bytes.removeAll(keepingCapacity: true)
        lines[index].bytes.append(contentsOf: kept)
        lines[index].field = field
    }
}
