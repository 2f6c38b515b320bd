// CacheKey: the lookup key built from the hash inputs (URL and host in the builtin policy), and
// the digest the store indexes it by.

import ShellacHTTP

public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    /// Joins the hash inputs with a separator that cannot appear in a URL or a header value.
    public init(parts: [String]) {
        self.init(parts: parts, url: nil, host: nil)
    }

    /// The key of `parts` followed by a URL and a host (what the builtin vcl_hash adds): the
    /// same key as `init(parts: parts + [url, host])`, without making that list.
    public init(parts: [String] = [], url: String, host: String) {
        self.init(parts: parts, url: url as String?, host: host as String?)
    }

    private init(parts: [String], url: String?, host: String?) {
        let count = parts.count + (url == nil ? 0 : 2)
        var length = max(count - 1, 0)
        for part in parts { length += part.utf8.count }
        if let url, let host { length += url.utf8.count + host.utf8.count }
        // Written as bytes in one allocation: String appends cost several times more.
        var text = String(unsafeUninitializedCapacity: length) { buffer in
            var offset = 0
            var written = 0
            func write(_ part: String) {
                if written > 0 {
                    buffer[offset] = 1
                    offset += 1
                }
                written += 1
                offset += part.copyUTF8(into: buffer, at: offset)
            }
            for part in parts { write(part) }
            if let url, let host {
                write(url)
                write(host)
            }
            return offset
        }
        digest = text.withUTF8 { Self.digest(of: UnsafeRawBufferPointer($0)) }
        value = text
    }

    /// A 64-bit digest of the key's bytes (SipHash with the process's random seed): the store
    /// indexes and shards by it, and compares the key's bytes before trusting a match.
    public let digest: UInt64

    public static func == (a: CacheKey, b: CacheKey) -> Bool { a.digest == b.digest && a.value == b.value }

    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    /// A key read back from its bytes (a stored object keeps them beside its body).
    init(value: String, digest: UInt64) {
        self.value = value
        self.digest = digest
    }

    static func digest(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        return UInt64(bitPattern: Int64(hasher.finalize()))
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
