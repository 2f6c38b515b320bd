// ACL: a compiled `acl NAME { … }`: IPv4 and IPv6 entries with optional prefix lengths and
// negation. The most specific matching entry decides (as in Varnish), so `! "10.0.0.23";` inside
// `"10.0.0.0"/8;` excludes one address.

import ShellacHTTP

public struct ACL: Sendable {
    public struct Entry: Sendable, Equatable {
        public var negated: Bool
        /// 4 bytes (IPv4) or 16 (IPv6).
        public var address: [UInt8]
        public var prefixLength: Int
    }

    public let name: String
    public let entries: [Entry]

    public init(name: String, entries: [Entry]) {
        self.name = name
        self.entries = entries
    }

    /// Compiles the declared entries. A host name is looked up now, as Varnish does, and every
    /// address it has is an entry ("localhost" is 127.0.0.1 and ::1 wherever this runs); one
    /// that does not resolve fails the load, unless the entry is in parentheses (then it is
    /// skipped with a warning). `resolve` answers a name's addresses or why it has none.
    static func compile(name: String, entries: [ACLEntry],
                               resolve: (String) -> Result<[[UInt8]], LookupFailure>)
        -> (ACL, [Diagnostic]) {
        var compiled: [Entry] = []
        var diagnostics: [Diagnostic] = []
        for var entry in entries {
            // Varnish also reads the prefix inside the string: "172.17.0.0/16".
            if entry.maskBits == nil, let slash = entry.address.lastIndex(of: "/"),
               let bits = Int(entry.address[entry.address.index(after: slash)...]) {
                entry.maskBits = bits
                entry.address = String(entry.address[..<slash])
            }
            let isLocalhost = entry.address.lowercased() == "localhost"
            let addresses: [[UInt8]]
            if isLocalhost {
                addresses = [[127, 0, 0, 1], IPAddress.parse("::1")!]
            } else if let address = IPAddress.parse(entry.address) ?? IPConversion.numericAddress(entry.address) {
                addresses = [address]
            } else {
                switch resolve(entry.address) {
                case .success(let found):
                    addresses = found
                case .failure(let failure) where entry.optional:
                    diagnostics.append(Diagnostic(.warning, "'\(entry.address)' is skipped: \(failure.reason)",
                                                  at: entry.range))
                    continue
                case .failure(let failure):
                    let message = "'\(entry.address)' is not an address and does not resolve: \(failure.reason)"
                    let hint = "write an IPv4 or IPv6 address (\"addr\"/bits), or put the entry in parentheses, "
                        + "( \"\(entry.address)\" ), to skip it when the name does not resolve"
                    diagnostics.append(Diagnostic(.error, message, at: entry.range, hint: hint))
                    continue
                }
            }
            for address in addresses {
                let maxBits = address.count * 8
                let bits = isLocalhost ? maxBits : (entry.maskBits ?? maxBits)
                guard (0...maxBits).contains(bits) else {
                    diagnostics.append(Diagnostic(.error, "prefix length /\(bits) is longer than the address",
                                                  at: entry.range, hint: "at most /\(maxBits)"))
                    continue
                }
                let network = IPAddress.masked(address, bits: bits)
                if network != address {
                    let message = "'\(entry.address)'/\(bits) has bits set past the prefix; "
                        + "it matches \(IPAddress.text(network))/\(bits)"
                    diagnostics.append(Diagnostic(.warning, message, at: entry.range))
                }
                compiled.append(Entry(negated: entry.negated, address: network, prefixLength: bits))
            }
        }
        return (ACL(name: name, entries: compiled), diagnostics)
    }

    /// Why a host name has no address.
    public struct LookupFailure: Error, Sendable {
        public let reason: String
        public init(reason: String) { self.reason = reason }
    }

    /// Whether `address` (text) is allowed: the longest matching prefix decides; no match is false.
    public func matches(_ address: String) -> Bool {
        guard let bytes = IPAddress.parse(address) else { return false }
        var best: Entry?
        for entry in entries {
            var candidate = bytes
            // An IPv4-mapped IPv6 client (::ffff:a.b.c.d) matches IPv4 entries.
            if entry.address.count == 4, bytes.count == 16, bytes[0..<12].elementsEqual(IPAddress.mappedPrefix) {
                candidate = Array(bytes[12...])
            }
            guard candidate.count == entry.address.count,
                  IPAddress.samePrefix(candidate, entry.address, bits: entry.prefixLength) else { continue }
            if best == nil || entry.prefixLength > best!.prefixLength { best = entry }
        }
        return best.map { !$0.negated } ?? false
    }
}
