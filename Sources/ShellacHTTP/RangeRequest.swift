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
        guard let header = request["Range", nameBit: KnownName.range] else { return .full }
        if let ifRange = request["If-Range"], !ifRangeMatches(ifRange, etag: etag, lastModified: lastModified) {
            return .full
        }
        return parse(header, length: length)
    }

    /// Parses `bytes=first-last`, `bytes=first-` or `bytes=-suffix` against a body of `length` bytes.
    /// Read as bytes (by Character, the parse cost more than the rest of a ranged hit).
    public static func parse(_ header: String, length: Int) -> Answer {
        var header = header
        return header.withUTF8 { parse($0, length: length) }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, length: Int) -> Answer {
        let whole = bytes.trimmingOWS(0..<bytes.count)
        guard whole.count >= 6, bytes[whole.lowerBound + 5] == UInt8(ascii: "="),
              zip(bytes[whole.lowerBound..<(whole.lowerBound + 5)], "bytes".utf8).allSatisfy({ $0 | 0x20 == $1 })
        else { return .full }
        let spec = bytes.trimmingOWS((whole.lowerBound + 6)..<whole.upperBound)
        guard !bytes[spec].contains(UInt8(ascii: ",")),
              let dash = bytes[spec].firstIndex(of: UInt8(ascii: "-")) else { return .full }
        let firstText = bytes.trimmingOWS(spec.lowerBound..<dash)
        let lastText = bytes.trimmingOWS((dash + 1)..<spec.upperBound)
        func number(_ text: Range<Int>) -> Int? {
            guard !text.isEmpty, text.count <= 18 else { return nil }
            var value = 0
            for byte in bytes[text] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
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
