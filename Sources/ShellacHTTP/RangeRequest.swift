// RangeRequest: how a cache answers a Range request from a complete representation
// (RFC 9110 §14): one satisfiable byte range → 206, none satisfiable → 416, anything else
// (several ranges, other units, bad syntax, a failed If-Range) → the full 200.

public enum RangeRequest {
    public enum Answer: Equatable, Sendable {
        case full
        case partial(ClosedRange<Int>)
        case unsatisfiable
    }

    public static func evaluate(request: HTTPFields, length: Int, etag: String?, lastModified: String?) -> Answer {
        guard let header = request["Range"] else { return .full }
        if let ifRange = request["If-Range"], !ifRangeMatches(ifRange, etag: etag, lastModified: lastModified) {
            return .full
        }
        return parse(header, length: length)
    }

    /// Parses `bytes=first-last`, `bytes=first-` or `bytes=-suffix` against a body of `length` bytes.
    public static func parse(_ header: String, length: Int) -> Answer {
        let trimmed = header.trimmingOWS()
        guard trimmed.hasPrefixIgnoringASCIICase("bytes=") else { return .full }
        let spec = trimmed.dropFirst("bytes=".count).trimmingOWS()
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .full }
        let firstText = spec[..<dash].trimmingOWS()
        let lastText = spec[spec.index(after: dash)...].trimmingOWS()
        func number(_ text: Substring) -> Int? {
            guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return nil
            }
            return Int(text)
        }
        if firstText.isEmpty {
            // Suffix range: the last N bytes.
            guard let suffix = number(lastText) else { return .full }
            guard suffix > 0, length > 0 else { return .unsatisfiable }
            return .partial(max(0, length - suffix)...(length - 1))
        }
        guard let first = number(firstText) else { return .full }
        var last = length - 1
        if !lastText.isEmpty {
            guard let given = number(lastText) else { return .full }
            guard given >= first else { return .full }  // invalid range-spec: ignore the header
            last = min(given, length - 1)
        }
        guard first < length else { return .unsatisfiable }
        return .partial(first...last)
    }

    /// If-Range (§13.1.5): a strong entity-tag must equal ours; a date must equal Last-Modified.
    private static func ifRangeMatches(_ value: String, etag: String?, lastModified: String?) -> Bool {
        let v = value.trimmingOWS()
        if v.hasPrefix("\"") || v.hasPrefix("W/") {
            guard let etag, !v.hasPrefix("W/"), !etag.hasPrefix("W/") else { return false }
            return v == etag
        }
        guard let lastModified, let date = HTTPDate.parse(v), let modified = HTTPDate.parse(lastModified) else {
            return false
        }
        return date == modified
    }
}
