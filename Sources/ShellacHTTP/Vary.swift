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
    /// Empty list items are dropped, blank ones kept empty (as splitting at commas and trimming
    /// each item gives them). Built from the values' bytes into one String, or the value itself
    /// when it is one already in that form (by Character, matching a variant on its three Vary
    /// names cost a hit more than half as much again).
    public static func values(for names: [String], in request: HTTPFields) -> [String?] {
        names.map { name in
            let all = request.values(name)
            guard !all.isEmpty else { return nil }
            if all.count == 1, isNormalised(all[0]) { return all[0] }
            let capacity = all.reduce(all.count) { $0 + $1.utf8.count }
            return String(unsafeUninitializedCapacity: capacity) { out in
                var written = 0
                var items = 0
                for value in all {
                    var value = value
                    value.withUTF8 { bytes in
                        bytes.forEachListItem(in: 0..<bytes.count) { item in
                            items += 1
                            if items > 1 {
                                out[written] = UInt8(ascii: ",")
                                written += 1
                            }
                            for index in item { out[written] = bytes[index]; written += 1 }
                            return true
                        }
                    }
                }
                return written
            }
        }
    }

    /// Whether a single value is already as `values` writes it: no blank at either end or
    /// beside a comma, no comma at either end or beside another.
    private static func isNormalised(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            var previous: UInt8 = UInt8(ascii: ",")
            for byte in bytes {
                let isBlank = byte == 0x20 || byte == 0x09
                if byte == UInt8(ascii: ",") && (previous == UInt8(ascii: ",") || previous == 0x20 || previous == 0x09) {
                    return false
                }
                if isBlank && previous == UInt8(ascii: ",") { return false }
                previous = byte
            }
            return previous != UInt8(ascii: ",") && previous != 0x20 && previous != 0x09 || bytes.isEmpty
        }
    }
}
