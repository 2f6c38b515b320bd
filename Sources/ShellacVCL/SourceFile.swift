// SourceFile: a VCL file's text and name, and positions in it. Every token and syntax node
// carries a SourceRange, so diagnostics can quote the line and underline the span.

public struct SourceFile: Sendable {
    public let name: String
    public let bytes: [UInt8]
    /// Byte offset of the start of each line.
    private let lineStarts: [Int]

    public init(name: String, text: String) {
        self.name = name
        self.bytes = Array(text.utf8)
        var starts = [0]
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") { starts.append(index + 1) }
        self.lineStarts = starts
    }

    /// 1-based line and column of a byte offset.
    public func lineAndColumn(of offset: Int) -> (line: Int, column: Int) {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return (low + 1, offset - lineStarts[low] + 1)
    }

    /// The text of a 1-based line, without its line break.
    public func line(_ number: Int) -> String {
        guard number >= 1, number <= lineStarts.count else { return "" }
        let start = lineStarts[number - 1]
        var end = number < lineStarts.count ? lineStarts[number] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }

    public func text(_ range: SourceRange) -> String {
        String(decoding: bytes[range.start..<range.end], as: UTF8.self)
    }
}

/// A half-open byte range in one source file; `file` indexes the files of one compilation
/// (0 for a single file).
public struct SourceRange: Sendable, Equatable {
    public var start: Int
    public var end: Int
    public var file: Int

    public init(_ start: Int, _ end: Int, file: Int = 0) {
        self.start = start
        self.end = end
        self.file = file
    }

    /// The range covering both (in this range's file).
    public func to(_ other: SourceRange) -> SourceRange {
        SourceRange(min(start, other.start), max(end, other.end), file: file)
    }
}
