// Vary: which request headers select a stored variant (RFC 9111 §4.1), and the normalised
// request values a variant is matched on.

public enum Vary {
    /// The lower-cased header names listed by the response's Vary fields; nil for `Vary: *`.
    public static func names(_ fields: HTTPFields) -> [String]? {
        var names: [String] = []
        for value in fields.values("Vary", nameBit: KnownName.vary) {
            for item in value.split(separator: ",") {
                let name = item.trimmingOWS()
                if name == "*" { return nil }
                if !name.isEmpty { names.append(name.asciiLowercased()) }
            }
        }
        return names
    }

    /// The request's value for each name, normalised: several fields joined with ", ", whitespace
    /// around list commas removed, so "gzip,deflate" and "gzip, deflate" match. nil = header absent.
    public static func values(for names: [String], in request: HTTPFields) -> [String?] {
        names.map { name in
            let all = request.values(name)
            guard !all.isEmpty else { return nil }
            return all.flatMap { $0.split(separator: ",").map { String($0.trimmingOWS()) } }.joined(separator: ",")
        }
    }
}
