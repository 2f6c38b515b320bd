// ConditionalRequest: whether a client's validators match a response, so a cache may answer
// 304 Not Modified (RFC 9110 §13.1.1, §13.1.3, evaluated in the order of §13.2.2).

public enum ConditionalRequest {
    /// True when the request's If-None-Match (or, without one, If-Modified-Since) says the client's
    /// copy is current. Only meaningful for GET and HEAD.
    /// The validators are asked for only when the request has a condition (most have none).
    public static func isNotModified(request: HTTPFields, etag: @autoclosure () -> String?,
                                     lastModified: @autoclosure () -> String?) -> Bool {
        if let inm = request.combined("If-None-Match", nameBit: KnownName.ifNoneMatch) {
            guard let etag = etag() else { return false }
            let trimmed = inm.trimmingOWS()
            if trimmed == "*" { return true }
            let ours = weak(etag)
            return trimmed.split(separator: ",").contains { weak($0.trimmingOWS()) == ours }
        }
        if let ims = request["If-Modified-Since", nameBit: KnownName.ifModifiedSince], let since = HTTPDate.parse(ims),
           let lastModified = lastModified(), let modified = HTTPDate.parse(lastModified) {
            return modified <= since
        }
        return false
    }

    /// Weak comparison drops the W/ prefix (§8.8.3.2).
    private static func weak(_ tag: some StringProtocol) -> Substring {
        let s = Substring(tag)
        return s.hasPrefix("W/") ? s.dropFirst(2) : s
    }

    /// Whether the request carries validators at all.
    public static func hasValidators(_ request: HTTPFields) -> Bool {
        request.contains("If-None-Match", nameBit: KnownName.ifNoneMatch)
            || request.contains("If-Modified-Since", nameBit: KnownName.ifModifiedSince)
    }
}
