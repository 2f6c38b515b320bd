// FieldList: the elements of a comma-separated field value (RFC 9110 §5.6.1), such as
// Connection's, read from the value's bytes in place. Splitting the value as a String cost about
// 4,000 instructions for a one-element "Connection: keep-alive", and a forwarded response from an
// nginx-like origin was split that way three times.

public enum FieldList {
    /// Whether some element of `value` equals `token`, ASCII case ignored.
    public static func contains(_ value: String, token: String) -> Bool {
        // A token longer than the whole value is in none of its elements (`close` in `keep-alive`
        // is not: the usual answer, found without reading either).
        guard token.utf8.count <= value.utf8.count else { return false }
        return token.withUTF8Bytes { wanted in
            firstElement(of: value) { equalsIgnoringASCIICase($0, wanted) }
        }
    }

    /// Calls `found` with each non-empty element of `value`, optional whitespace trimmed, until
    /// it returns true; whether it did.
    public static func firstElement(of value: String,
                                    where found: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        value.withUTF8Bytes { bytes in
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: ",") { end += 1 }
                var low = start, high = end
                while low < high && isOptionalWhitespace(bytes[low]) { low += 1 }
                while high > low && isOptionalWhitespace(bytes[high - 1]) { high -= 1 }
                if low < high && found(UnsafeBufferPointer(rebasing: bytes[low..<high])) { return true }
                start = end + 1
            }
            return false
        }
    }

    /// Byte-wise equality with ASCII letters matched in either case.
    static func equalsIgnoringASCIICase(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for index in 0..<a.count where a[index] != b[index] {
            if asciiLower(a[index]) != asciiLower(b[index]) { return false }
        }
        return true
    }

    private static func isOptionalWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}
