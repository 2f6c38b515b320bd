// Diagnostic: one problem found in a VCL file, rendered as users of compilers expect:
// "file:line:col: error: message", the source line, a caret under the span, and what to do.

public struct Diagnostic: Sendable, Equatable {
    public enum Severity: String, Sendable {
        case error, warning
    }

    public var severity: Severity
    public var message: String
    public var range: SourceRange
    /// What to do about it, when there is something specific (e.g. the VCL 4 spelling).
    public var hint: String?

    public init(_ severity: Severity, _ message: String, at range: SourceRange, hint: String? = nil) {
        self.severity = severity
        self.message = message
        self.range = range
        self.hint = hint
    }

    /// Rendered against the files of a compilation, picking the one its range is in.
    public func rendered(in files: [SourceFile]) -> String {
        rendered(in: files[min(max(0, range.file), files.count - 1)])
    }

    /// The diagnostic with its location, quoted line and underline.
    public func rendered(in file: SourceFile) -> String {
        let (line, column) = file.lineAndColumn(of: range.start)
        let (text, offset) = Self.excerpt(of: file.line(line), around: column - 1)
        let lineLength = text.utf8.count
        let width = max(1, min(range.end - range.start, max(1, lineLength - offset)))
        let marker = String(repeating: " ", count: offset) + "^" + String(repeating: "~", count: width - 1)
        var out = "\(file.name):\(line):\(column): \(severity.rawValue): \(message)\n\(text)\n\(marker)"
        if let hint { out += "\nhint: \(hint)" }
        return out
    }

    /// The longest line quoted whole; a longer one (a generated or minified file) is quoted around
    /// the column, with "..." where it is cut, and the column moves with it.
    static let longestQuotedLine = 160

    static func excerpt(of line: String, around column: Int) -> (text: String, column: Int) {
        let bytes = Array(line.utf8)
        guard bytes.count > longestQuotedLine else { return (line, column) }
        let start = max(0, min(column - longestQuotedLine / 2, bytes.count - longestQuotedLine))
        let end = min(bytes.count, start + longestQuotedLine)
        let head = start > 0 ? "..." : ""
        let tail = end < bytes.count ? "..." : ""
        return (head + String(decoding: bytes[start..<end], as: UTF8.self) + tail, column - start + head.count)
    }
}
