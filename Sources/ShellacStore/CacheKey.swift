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

    /// Which store shard holds the key: FNV-1a over its bytes from a per-process random start.
    /// Several times cheaper than the full SipHash the shard's dictionary computes anyway; a
    /// skewed spread could only crowd one shard's lock, never mix up keys (the dictionary
    /// compares whole keys, with its own seeded hash).
    var shardHash: UInt64 {
        var value = self.value
        return value.withUTF8 { bytes in
            var hash = Self.shardSeed
            for byte in bytes {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
            return hash ^ (hash >> 29)
        }
    }

    private static let shardSeed = 0xCBF2_9CE4_8422_2325 ^ UInt64.random(in: 0...UInt64.max)

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
