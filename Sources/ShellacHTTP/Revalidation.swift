// Revalidation: validators for a conditional fetch, and how a 304 updates a stored response
// (RFC 9111 §4.3.1, §4.3.4).

public enum Revalidation {
    /// Fields that a 304 does not replace: framing belongs to the stored body.
    private static let kept: Set<String> = ["content-length", "transfer-encoding", "content-encoding",
                                            "content-range", "content-type"]

    /// The conditional fields to send for a stored response with these validators.
    public static func conditions(etag: String?, lastModified: String?) -> [(String, String)] {
        var result: [(String, String)] = []
        if let etag { result.append(("If-None-Match", etag)) }
        if let lastModified { result.append(("If-Modified-Since", lastModified)) }
        return result
    }

    /// The stored fields updated by a 304's fields: every field the 304 carries replaces all
    /// stored fields of that name (§4.3.4), except those that describe the stored body itself.
    public static func merge(stored: HTTPFields, notModified: HTTPFields) -> HTTPFields {
        var updates: [String: [String]] = [:]
        var order: [String] = []
        for field in notModified {
            let name = field.name.asciiLowercased()
            guard !kept.contains(name) else { continue }
            if updates[name] == nil { order.append(field.name) }
            updates[name, default: []].append(field.value)
        }
        var merged = stored
        for name in order {
            merged.remove(name)
            for value in updates[name.asciiLowercased()] ?? [] { merged.add(name, value) }
        }
        return merged
    }
}
