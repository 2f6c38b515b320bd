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
        let text = file.line(line)
        let lineLength = text.utf8.count
        let width = max(1, min(range.end - range.start, max(1, lineLength - (column - 1))))
        let marker = String(repeating: " ", count: column - 1) + "^" + String(repeating: "~", count: width - 1)
        var out = "\(file.name):\(line):\(column): \(severity.rawValue): \(message)\n\(text)\n\(marker)"
        if let hint { out += "\nhint: \(hint)" }
        return out
    }
}
