// RecentFieldLines: the field each line of the last head a parser read became, kept with the
// line's bytes, so that a line repeated byte for byte at the same place in the next head is that
// field again without being parsed (finding the colon, the name's bit and shared String, the
// value's bounds and its check). Most of a head repeats from message to message on a connection:
// a backend's Server, Content-Type, Cache-Control and, within a second, Date; a browser's Host,
// User-Agent, Accept and Cookie lines. It keeps the last head's field list too, which a head repeating
// that one whole is given, shared, rather than an equal list built anew.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct RecentFieldLines: Sendable {
    /// Lines further down a head are parsed every time: a connection keeps at most this many,
    /// each in a slot of `maxLineLength` bytes, or, longer (a browser's Cookie line, often some
    /// hundreds of bytes), in an array of its own, up to `maxLongLineBytes` for all of them.
    static let maxLines = 24
    static let maxLineLength = 128
    static let maxLongLineBytes = 8 * 1024

    /// Line `i`'s bytes are at `i * maxLineLength` in `lineBytes`, `lineLengths[i]` of them (-1:
    /// the line was too long to keep, and no line matches it), and it made `lineFields[i]`. One
    /// buffer for every line's bytes: with an array of bytes per line, each comparison copied
    /// that line's array out of the list, a retain and a release per line of every head.
    private var lineBytes: [UInt8] = []
    private var lineLengths: [Int16] = []
    private var lineFields: [HTTPField] = []
    /// The bytes of the lines longer than a slot, by line (empty for the others), and how many
    /// bytes they hold together.
    private var longLines: [[UInt8]] = []
    private var longLineBytes = 0
    /// The last head's field list, how many lines it had, whether its Content-Length was kept,
    /// and what the fields a response parser left out of it said (see LeftOutFields). Kept
    /// apart, so the checks every head makes read two words rather than copy the whole.
    private var lastHeadLineCount: Int?
    private var lastHeadKeptContentLength = false
    private var lastHeadLeftSomeOut = false
    private var lastHeadFields = HTTPFields()
    private var lastHeadLeftOut: LeftOutFields?

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
        guard lastHeadKeptContentLength == keepingContentLength, lastHeadLeftSomeOut == leavingOut else { return nil }
        return lastHeadLineCount
    }

    /// The last head's fields (there must be a last head).
    var lastFields: HTTPFields { lastHeadFields }

    /// What the fields left out of the last head said.
    var lastLeftOut: LeftOutFields? { lastHeadLeftOut }

    mutating func rememberHead(_ head: consuming LastHead) {
        lastHeadLineCount = head.lineCount
        lastHeadKeptContentLength = head.keptContentLength
        lastHeadLeftSomeOut = head.leftOut != nil
        lastHeadFields = head.fields
        lastHeadLeftOut = head.leftOut
    }

    /// Whether `line` has exactly the bytes of line `index` of the last head.
    func repeats(at index: Int, _ line: UnsafeRawBufferPointer) -> Bool {
        guard let start = line.baseAddress, index < lineLengths.count, Int(lineLengths[index]) == line.count else {
            return false
        }
        if line.count > Self.maxLineLength {
            return longLines[index].withUnsafeBufferPointer { memcmp($0.baseAddress!, start, line.count) == 0 }
        }
        return lineBytes.withUnsafeBufferPointer {
            memcmp($0.baseAddress! + index * Self.maxLineLength, start, line.count) == 0
        }
    }

    /// The field line `index` made (there must be one: `repeats` said so).
    func field(at index: Int) -> HTTPField {
        lineFields[index]
    }

    /// Remembers the field line `index` made. Lines are remembered in order, each after the ones
    /// above it, so a head's lines fill the list from the top.
    mutating func remember(_ field: HTTPField, at index: Int, _ line: UnsafeRawBufferPointer) {
        guard index < Self.maxLines, index <= lineLengths.count else { return }
        if index == lineLengths.count {
            lineBytes.append(contentsOf: repeatElement(0, count: Self.maxLineLength))
            lineLengths.append(-1)
            lineFields.append(field)
            longLines.append([])
        } else {
            lineFields[index] = field
        }
        if lineLengths[index] > Self.maxLineLength {  // it held a long line: give its bytes back
            longLineBytes -= longLines[index].count
            longLines[index] = []
        }
        guard let start = line.baseAddress else {
            lineLengths[index] = -1
            return
        }
        guard line.count <= Self.maxLineLength else {
            if longLineBytes + line.count <= Self.maxLongLineBytes {
                longLines[index] = Array(UnsafeRawBufferPointer(start: start, count: line.count))
                longLineBytes += line.count
                lineLengths[index] = Int16(line.count)
            } else {
                lineLengths[index] = -1
            }
            return
        }
        lineBytes.withUnsafeMutableBufferPointer {
            _ = memcpy($0.baseAddress! + index * Self.maxLineLength, start, line.count)
        }
        lineLengths[index] = Int16(line.count)
    }
}
