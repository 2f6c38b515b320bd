// HopByHop: connection-specific fields that a proxy removes before forwarding a message
// (RFC 9110 §7.6.1), plus the framing fields that we regenerate ourselves.

public enum HopByHop {
    /// Removes Connection and every field it names, the standard hop-by-hop fields and Proxy-*.
    /// Compares names in place (no lower-cased copies): it runs on every forwarded message, and
    /// header String creation and comparison showed up at about 5 % of a pass in a profile.
    /// `alsoRemoving` names one more field to drop in the same pass (a framing field the caller
    /// regenerates): the list is copied once, not once per removal.
    public static func strip(_ fields: inout HTTPFields, alsoRemoving extra: String? = nil) {
        var named: [Substring] = []
        fields.forEachValue(of: "Connection", nameBit: KnownName.connection) { value in
            for token in value.split(separator: ",") {
                let name = token.trimmingOWS()
                if !name.isEmpty { named.append(name) }
            }
        }
        let extraBit = extra.map { HTTPField.nameBit($0) } ?? 0
        let alwaysBits = Self.alwaysBits
        fields.removeAll { field in
            // The name bits rule out most names before any byte of them is read.
            (field.nameBit & alwaysBits != 0 && isAlwaysHopByHop(field.name)) || isProxyField(field.name)
                || (field.nameBit == extraBit && field.name.equalsIgnoringASCIICase(extra!))
                || (!named.isEmpty && named.contains { field.name.equalsIgnoringASCIICase($0) })
        }
    }

    /// The name bits of the fixed hop-by-hop names (Proxy-* are checked apart).
    private static let alwaysBits = ["Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade"]
        .reduce(UInt64(0)) { $0 | HTTPField.nameBit($1) }

    static func isProxyField(_ name: String) -> Bool {
        name.utf8.count >= 6 && name.utf8.first.map { $0 | 0x20 == UInt8(ascii: "p") } == true
            && name.hasPrefixIgnoringASCIICase("proxy-")
    }

    /// Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade or Proxy-*, removed from
    /// every message: the first byte and the length rule out most names before any comparison.
    static func isAlwaysHopByHop(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first else { return false }
        switch first | 0x20 {
        case UInt8(ascii: "c"): return bytes.count == 10 && name.equalsIgnoringASCIICase("connection")
        case UInt8(ascii: "k"): return bytes.count == 10 && name.equalsIgnoringASCIICase("keep-alive")
        case UInt8(ascii: "t"):
            switch bytes.count {
            case 2: return name.equalsIgnoringASCIICase("te")
            case 7: return name.equalsIgnoringASCIICase("trailer")
            case 17: return name.equalsIgnoringASCIICase("transfer-encoding")
            default: return false
            }
        case UInt8(ascii: "u"): return bytes.count == 7 && name.equalsIgnoringASCIICase("upgrade")
        case UInt8(ascii: "p"): return bytes.count >= 6 && name.hasPrefixIgnoringASCIICase("proxy-")
        default: return false
        }
    }
}
