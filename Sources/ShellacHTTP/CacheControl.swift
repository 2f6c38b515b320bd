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
        var values = HeadParser.FieldValues()
        fields.forEachValue(of: "Cache-Control", nameBit: KnownName.cacheControl) { values.append($0) }
        guard let first = values.first else {
            self.init()
            return
        }
        if values.count == 1 {
            // The usual one field: the same value as the last response's is not parsed again.
            self = ParsedValueMemo.current.cacheControl(first)
        } else {
            self.init(parsing: values)
        }
    }

    /// Parses these Cache-Control field values, in order.
    init(parsing values: some Sequence<String>) {
        var parsed = CacheControl()
        for value in values {
            if value.utf8.withContiguousStorageIfAvailable({ parsed.parse($0) }) == nil {
                Array(value.utf8).withUnsafeBufferPointer { parsed.parse($0) }
            }
        }
        self = parsed
    }

    /// Splits "a, b=1, c=\"x, y\"" into directives at commas outside quoted strings, as bytes
    /// (every delimiter is ASCII), and applies each.
    private mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) {
        var start = 0
        var inQuotes = false
        for index in 0...bytes.count {
            if index < bytes.count {
                if bytes[index] == UInt8(ascii: "\"") { inQuotes.toggle() }
                guard bytes[index] == UInt8(ascii: ","), !inQuotes else { continue }
            }
            directive(bytes, bytes.trimmingOWS(start..<index))
            start = index + 1
        }
    }

    /// One directive, `name` or `name=value` (a quoted value loses its quotes).
    private mutating func directive(_ bytes: UnsafeBufferPointer<UInt8>, _ item: Range<Int>) {
        guard !item.isEmpty else { return }
        guard let equals = item.first(where: { bytes[$0] == UInt8(ascii: "=") }) else {
            apply(name: UnsafeBufferPointer(rebasing: bytes[item]), value: nil)
            return
        }
        var value = bytes.trimmingOWS((equals + 1)..<item.upperBound)
        if value.count >= 2, bytes[value.lowerBound] == UInt8(ascii: "\""), bytes[value.upperBound - 1] == UInt8(ascii: "\"") {
            value = (value.lowerBound + 1)..<(value.upperBound - 1)
        }
        apply(name: UnsafeBufferPointer(rebasing: bytes[bytes.trimmingOWS(item.lowerBound..<equals)]),
              value: UnsafeBufferPointer(rebasing: bytes[value]))
    }

    private mutating func apply(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>?) {
        func named(_ directive: StaticString) -> Bool {
            guard name.count == directive.utf8CodeUnitCount else { return false }
            let expected = UnsafeBufferPointer(start: directive.utf8Start, count: directive.utf8CodeUnitCount)
            return !zip(name, expected).contains { asciiLower($0) != $1 }
        }
        func seconds() -> Int? {
            guard let value, !value.isEmpty, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            var total = 0
            for digit in value {
                let (tens, overflowed) = total.multipliedReportingOverflow(by: 10)
                let (sum, overflowedAgain) = tens.addingReportingOverflow(Int(digit - 0x30))
                // RFC 9111 §1.2.2: a delta-seconds too large to represent means "a very long time".
                if overflowed || overflowedAgain { return Int(Int32.max) }
                total = sum
            }
            return total
        }
        if named("max-age") { maxAge = seconds() ?? maxAge
        } else if named("s-maxage") { sMaxAge = seconds() ?? sMaxAge
        } else if named("no-store") { noStore = true
        } else if named("no-cache") { noCache = true
        } else if named("private") { isPrivate = true
        } else if named("public") { isPublic = true
        } else if named("must-revalidate") { mustRevalidate = true
        } else if named("proxy-revalidate") { proxyRevalidate = true
        } else if named("stale-while-revalidate") { staleWhileRevalidate = seconds() ?? staleWhileRevalidate
        } else if named("stale-if-error") { staleIfError = seconds() ?? staleIfError
        }
    }

}
