// CacheKey: the lookup key built from the hash inputs (URL and host in the builtin policy).

public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    /// Joins the hash inputs with a separator that cannot appear in a URL or a header value.
    public init(parts: [String]) {
        let length = parts.reduce(max(parts.count - 1, 0)) { $0 + $1.utf8.count }
        // Written as bytes in one allocation: String appends cost several times more.
        value = String(unsafeUninitializedCapacity: length) { buffer in
            var offset = 0
            for (index, part) in parts.enumerated() {
                if index > 0 {
                    buffer[offset] = 1
                    offset += 1
                }
                offset += part.utf8.withContiguousStorageIfAvailable { bytes in
                    if let source = bytes.baseAddress, let target = buffer.baseAddress {
                        (target + offset).update(from: source, count: bytes.count)
                    }
                    return bytes.count
                } ?? Self.copySlowly(part, into: buffer, at: offset)
            }
            return offset
        }
    }

    private static func copySlowly(_ part: String, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        var position = offset
        for byte in part.utf8 {
            buffer[position] = byte
            position += 1
        }
        return position - offset
    }

    /// The first hash input: the URL, with the builtin vcl_hash.
    public var firstPart: Substring {
        value.split(separator: "\u{1}", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }

    public var description: String { value.replacingOccurrences(of: "\u{1}", with: " ") }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
