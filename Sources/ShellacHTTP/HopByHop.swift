// HopByHop: connection-specific fields that a proxy removes before forwarding a message
// (RFC 9110 §7.6.1), plus the framing fields that we regenerate ourselves.

public enum HopByHop {
    private static let always = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"]

    /// Removes Connection and every field it names, the standard hop-by-hop fields and Proxy-*.
    public static func strip(_ fields: inout HTTPFields) {
        var named: [String] = []
        for value in fields.values("Connection") {
            for token in value.split(separator: ",") {
                let name = token.trimmingOWS()
                if !name.isEmpty { named.append(name.asciiLowercased()) }
            }
        }
        fields.removeAll { field in
            let lower = field.name.asciiLowercased()
            return always.contains(lower) || named.contains(lower) || lower.hasPrefix("proxy-")
        }
    }
}
