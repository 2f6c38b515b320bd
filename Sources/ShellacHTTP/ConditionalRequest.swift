// ConditionalRequest: whether a client's validators match a response, so a cache may answer
// 304 Not Modified (RFC 9110 §13.1.1, §13.1.3, evaluated in the order of §13.2.2).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ConditionalRequest {
    /// True when the request's If-None-Match (or, without one, If-Modified-Since) says the client's
    /// copy is current. Only meaningful for GET and HEAD.
    /// The validators are asked for only when the request has a condition (most have none).
    public static func isNotModified(request: HTTPFields, etag: @autoclosure () -> String?,
                                     lastModified: @autoclosure () -> String?) -> Bool {
        if let inm = request.combined("If-None-Match", nameBit: KnownName.ifNoneMatch) {
            guard let etag = etag() else { return false }
            return matches(ifNoneMatch: inm, etag: etag)
        }
        if let ims = request["If-Modified-Since", nameBit: KnownName.ifModifiedSince], let since = HTTPDate.parse(ims),
           let lastModified = lastModified(), let modified = HTTPDate.parse(lastModified) {
            return modified <= since
        }
        return false
    }

    /// Whether an If-None-Match list names `etag`: "*" alone, or an entry equal to it by weak
    /// comparison (§8.8.3.2: a "W/" on either dropped). Entries are split at commas and trimmed of
    /// blanks; read as bytes (by Character, a browser's revalidation spent more here than on
    /// the rest of its 304).
    static func matches(ifNoneMatch list: String, etag: String) -> Bool {
        var list = list
        var etag = etag
        return list.withUTF8 { list in
            etag.withUTF8 { tag in
                let ours = weak(tag, 0..<tag.count)
                let whole = list.trimmingOWS(0..<list.count)
                if whole.count == 1 && list[whole.lowerBound] == UInt8(ascii: "*") { return true }
                let sawNoMatch = list.forEachListItem(in: whole) { item in
                    let entry = weak(list, item)
                    return entry.count != ours.count || !ours.isEmpty
                        && memcmp(list.baseAddress! + entry.lowerBound, tag.baseAddress! + ours.lowerBound, ours.count) != 0
                }
                return !sawNoMatch
            }
        }
    }

    /// Weak comparison drops the W/ prefix.
    private static func weak(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        range.count >= 2 && bytes[range.lowerBound] == UInt8(ascii: "W") && bytes[range.lowerBound + 1] == UInt8(ascii: "/")
            ? (range.lowerBound + 2)..<range.upperBound : range
    }

    /// Whether the request carries validators at all.
    public static func hasValidators(_ request: HTTPFields) -> Bool {
        request.contains("If-None-Match", nameBit: KnownName.ifNoneMatch)
            || request.contains("If-Modified-Since", nameBit: KnownName.ifModifiedSince)
    }
}
