// HopByHop: connection-specific fields that a proxy removes before forwarding a message
// (RFC 9110 §7.6.1), plus the framing fields that we regenerate ourselves.

public enum HopByHop {
    /// Removes Connection and every field it names, the standard hop-by-hop fields and Proxy-*.
    /// Compares names in place (no lower-cased copies): it runs on every forwarded message, and
    /// header String creation and comparison showed up at about 5 % of a pass in a profile.
    /// `alsoRemoving` names one more field to drop in the same pass (a framing field the caller
    /// regenerates), with its `HTTPField.nameBit`: the list is copied once, not once per removal.
    public static func strip(_ fields: inout HTTPFields, alsoRemoving extra: (name: String, nameBit: UInt64)? = nil) {
        // The options Connection lists, joined only when one names a field not removed anyway:
        // nearly always it says just "keep-alive" or "close".
        var namesOthers = false
        fields.forEachValue(of: "Connection", nameBit: KnownName.connection) { value in
            if !namesOthers { namesOthers = FieldList.firstElement(of: value, where: { !isAlwaysHopByHop($0) }) }
        }
        let options = namesOthers ? fields.combined("Connection", nameBit: KnownName.connection) : nil
        let extraBit = extra?.nameBit ?? 0
        // Only a field with one of these bits can go, unless Connection names others: the rest
        // are passed over on their bits, their names not read (reading one copied the field).
        let candidates = options == nil ? alwaysHopByHopBits | extraBit : ~0
        guard fields.nameBits & candidates != 0 else { return }
        fields.removeAll { field in
            guard field.nameBit & candidates != 0 else { return false }
            return isAlwaysHopByHop(field.name)
                || (field.nameBit == extraBit && field.name.equalsIgnoringASCIICase(extra!.name))
                || (options.map { FieldList.contains($0, token: field.name) } ?? false)
        }
    }

    /// The name bits of the fields `isAlwaysHopByHop` picks (every Proxy-* name has the P bit).
    /// A constant where it is read (a `static let` was a swift_once call on every message).
    static var alwaysHopByHopBits: UInt64 {
        HTTPField.startsWithP | KnownName.connection | HTTPField.nameBit(known: "Keep-Alive")
            | HTTPField.nameBit(known: "TE") | HTTPField.nameBit(known: "Trailer") | KnownName.transferEncoding
            | HTTPField.nameBit(known: "Upgrade")
    }

    /// Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade or Proxy-*, removed from
    /// every message. The name's bytes are read in place (going through `utf8.first` and
    /// `utf8.count` retained and released the name), and the first byte and the length rule out
    /// most names before any comparison.
    static func isAlwaysHopByHop(_ name: String) -> Bool {
        name.withUTF8Bytes(isAlwaysHopByHop)
    }

    static func isAlwaysHopByHop(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = name.first else { return false }
        switch first | 0x20 {
        case UInt8(ascii: "c"): return name.count == 10 && matches(name, "connection")
        case UInt8(ascii: "k"): return name.count == 10 && matches(name, "keep-alive")
        case UInt8(ascii: "t"):
            switch name.count {
            case 2: return matches(name, "te")
            case 7: return matches(name, "trailer")
            case 17: return matches(name, "transfer-encoding")
            default: return false
            }
        case UInt8(ascii: "u"): return name.count == 7 && matches(name, "upgrade")
        case UInt8(ascii: "p"): return name.count >= 6 && matches(name, "proxy-")
        default: return false
        }
    }

    /// Whether `name` starts with `lowercase` (its letters matched in either case).
    private static func matches(_ name: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            guard name.count >= expected.count else { return false }
            for index in expected.indices {
                let byte = name[index], wanted = expected[index]
                let isLetter = wanted >= UInt8(ascii: "a") && wanted <= UInt8(ascii: "z")
                if byte != wanted && !(isLetter && byte | 0x20 == wanted) { return false }
            }
            return true
        }
    }
}
