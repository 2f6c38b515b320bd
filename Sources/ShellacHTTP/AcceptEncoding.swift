// AcceptEncoding: whether a request's Accept-Encoding admits gzip (RFC 9110 §12.5.3), read from
// the bytes without splitting into strings: the hit path normalises this header on every request.

public enum AcceptEncoding {
    /// Whether a request with `fields` takes gzip (req.can_gzip). A looked-up request's header is
    /// "gzip" or absent once normalised, so the first value is read as it is before any joining.
    public static func takesGzip(_ fields: HTTPFields) -> Bool {
        guard let first = fields["Accept-Encoding", nameBit: KnownName.acceptEncoding] else { return false }
        if first == "gzip" { return true }
        return acceptsGzip(fields.combined("Accept-Encoding", nameBit: KnownName.acceptEncoding) ?? first)
    }

    /// Whether `value` lists gzip explicitly (a `*` does not count) with a q above 0.
    public static func acceptsGzip(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                var end = index
                while end < bytes.count, bytes[end] != UInt8(ascii: ",") { end += 1 }
                if itemIsGzip(bytes, index, end) { return true }
                index = end + 1
            }
            return false
        }
    }

    /// One list item, `coding *( OWS ";" OWS param )`: gzip with no q=0.
    private static func itemIsGzip(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var position = start
        skipSpace(bytes, &position, end)
        guard end - position >= 4, bytes[position] | 0x20 == UInt8(ascii: "g"), bytes[position + 1] | 0x20 == UInt8(ascii: "z"),
              bytes[position + 2] | 0x20 == UInt8(ascii: "i"), bytes[position + 3] | 0x20 == UInt8(ascii: "p") else {
            return false
        }
        position += 4
        skipSpace(bytes, &position, end)
        while position < end {
            guard bytes[position] == UInt8(ascii: ";") else { return false }  // "gzipx" or junk
            position += 1
            skipSpace(bytes, &position, end)
            var parameterEnd = position
            while parameterEnd < end, bytes[parameterEnd] != UInt8(ascii: ";") { parameterEnd += 1 }
            if isZeroQuality(bytes, position, parameterEnd) { return false }
            position = parameterEnd
        }
        return true
    }

    /// "q=0", "q=0.0", "Q = 0.000".
    private static func isZeroQuality(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var text: [UInt8] = []
        for index in start..<end where bytes[index] != UInt8(ascii: " ") && bytes[index] != UInt8(ascii: "\t") {
            text.append(bytes[index] | (bytes[index] >= 0x41 && bytes[index] <= 0x5A ? 0x20 : 0))
        }
        guard text.count >= 3, text[0] == UInt8(ascii: "q"), text[1] == UInt8(ascii: "=") else { return false }
        return text[2...].allSatisfy { $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: ".") }
    }

    private static func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, _ position: inout Int, _ end: Int) {
        while position < end, bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "\t") {
            position += 1
        }
    }
}
