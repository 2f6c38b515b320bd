// RecentFieldLines: the field each line of the last head a parser read became, kept with the
// line's bytes, so that a line repeated byte for byte at the same place in the next head is that
// field again without being parsed (finding the colon, the name's bit and shared String, the
// value's bounds and its check). Most of a head repeats from message to message on a connection:
// a backend's Server, Content-Type, Cache-Control and, within a second, Date; a browser's Host,
// User-Agent and Accept lines. It keeps the last head's field list too, which a head repeating
// that one whole is given, shared, rather than an equal list built anew.

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
    /// The last head's field list, how many lines it had, whether its Content-Length was kept,
    /// and what the fields a response parser left out of it said (see LeftOutFields).
    private var lastHead: LastHead?

    struct LastHead {
        var fields: HTTPFields
        var lineCount: Int
        var keptContentLength: Bool
        var leftOut: LeftOutFields?
    }

    /// How many lines the last head had, when it was read the same way: keeping Content-Length or
    /// not, leaving hop-by-hop fields out or not. Its fields and what was left out of them are
    /// read only once a head has repeated it whole (copied out of here for every head, they were
    /// retained and released each time).
    func lastLineCount(keepingContentLength: Bool, leavingOut: Bool) -> Int? {
        guard let lastHead, lastHead.keptContentLength == keepingContentLength,
              (lastHead.leftOut != nil) == leavingOut else { return nil }
        return lastHead.lineCount
    }

    /// The last head's fields (there must be a last head).
    var lastFields: HTTPFields { lastHead!.fields }

    /// What the fields left out of the last head said.
    var lastLeftOut: LeftOutFields? { lastHead!.leftOut }

    mutating func rememberHead(_ head: LastHead) {
        lastHead = head
    }

    /// Whether `line` has exactly the bytes of line `index` of the last head.
    func repeats(at index: Int, _ line: UnsafeRawBufferPointer) -> Bool {
        guard let start = line.baseAddress else { return false }
        // Read in place: a copy of the entry retained and released its bytes and Strings.
        return lines.withUnsafeBufferPointer { lines in
            index < lines.count && lines[index].bytes.count == line.count
                && lines[index].bytes.withUnsafeBytes { memcmp($0.baseAddress!, start, line.count) == 0 }
        }
    }

    /// The field line `index` made (there must be one: `repeats` said so).
    func field(at index: Int) -> HTTPField {
        lines[index].field
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
