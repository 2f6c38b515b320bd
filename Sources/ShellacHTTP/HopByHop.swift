// HopByHop: connection-specific fields that a proxy removes before forwarding a message
// (RFC 9110 §7.6.1), plus the framing fields that we regenerate ourselves.

public enum HopByHop {
    private static let always = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"]

    /// Removes Connection and every field it names, the standard hop-by-hop fields and Proxy-*.
    /// Compares names in place (no lower-cased copies): it runs on every forwarded message, and
    /// header String creation and comparison showed up at about 5 % of a pass in a profile.
    public static func strip(_ fields: inout HTTPFields) {
        var named: [Substring] = []
        for value in fields.values("Connection") {
            for token in value.split(separator: ",") {
                let name = token.trimmingOWS()
                if !name.isEmpty { named.append(name) }
            }
        }
        fields.removeAll { field in
            always.contains { field.name.equalsIgnoringASCIICase($0) }
                || named.contains { field.name.equalsIgnoringASCIICase($0) }
                || field.name.hasPrefixIgnoringASCIICase("proxy-")
        }
    }
}
