// CacheKey: the lookup key built from the hash inputs (URL and host in the builtin policy).

public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    /// Joins the hash inputs with a separator that cannot appear in a URL or a header value.
    public init(parts: [String]) {
        value = parts.joined(separator: "\u{1}")
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
