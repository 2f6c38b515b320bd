// CacheControl: the directives of a Cache-Control header that a shared cache acts on
// (RFC 9111 §5.2). Unknown directives are ignored; a malformed delta-seconds is treated as absent.

public struct CacheControl: Sendable, Equatable {
    public var maxAge: Int?
    public var sMaxAge: Int?
    public var noStore = false
    public var noCache = false
    public var isPrivate = false
    public var isPublic = false
    public var mustRevalidate = false
    public var proxyRevalidate = false
    public var staleWhileRevalidate: Int?
    public var staleIfError: Int?

    public init() {}

    /// Parses every Cache-Control field value of a message.
    public init(_ fields: HTTPFields) {
        for value in fields.values("Cache-Control") {
            for directive in Self.directives(value) {
                apply(name: directive.name, value: directive.value)
            }
        }
    }

    private mutating func apply(name: Substring, value: Substring?) {
        func seconds() -> Int? {
            guard let value, !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            // RFC 9111 §1.2.2: a delta-seconds too large to represent means "a very long time".
            return Int(value) ?? Int(Int32.max)
        }
        switch name.asciiLowercased() {
        case "max-age": maxAge = seconds() ?? maxAge
        case "s-maxage": sMaxAge = seconds() ?? sMaxAge
        case "no-store": noStore = true
        case "no-cache": noCache = true
        case "private": isPrivate = true
        case "public": isPublic = true
        case "must-revalidate": mustRevalidate = true
        case "proxy-revalidate": proxyRevalidate = true
        case "stale-while-revalidate": staleWhileRevalidate = seconds() ?? staleWhileRevalidate
        case "stale-if-error": staleIfError = seconds() ?? staleIfError
        default: break
        }
    }

    /// Splits "a, b=1, c=\"x, y\"" into directives, honouring quoted strings.
    static func directives(_ value: String) -> [(name: Substring, value: Substring?)] {
        var result: [(Substring, Substring?)] = []
        var start = value.startIndex
        var inQuotes = false
        var index = value.startIndex
        func flush(_ end: String.Index) {
            let item = value[start..<end].trimmingOWS()
            guard !item.isEmpty else { return }
            if let eq = item.firstIndex(of: "=") {
                var v = item[item.index(after: eq)...].trimmingOWS()
                if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = v.dropFirst().dropLast() }
                result.append((item[..<eq].trimmingOWS(), v))
            } else {
                result.append((item, nil))
            }
        }
        // Walked as bytes (the delimiters are ASCII, so every cut falls between characters).
        let bytes = value.utf8
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { inQuotes.toggle() }
            if byte == UInt8(ascii: ",") && !inQuotes {
                flush(index)
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        flush(value.endIndex)
        return result
    }
}
