// ACL: a compiled `acl NAME { … }`: IPv4 and IPv6 entries with optional prefix lengths and
// negation. The most specific matching entry decides (as in Varnish), so `! "10.0.0.23";` inside
// `"10.0.0.0"/8;` excludes one address.

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

/// Text forms of IPv4 and IPv6 addresses as bytes.
enum IPAddress {
    static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

    static func parse(_ text: String) -> [UInt8]? {
        text.contains(":") ? parseV6(text) : parseV4(Substring(text))
    }

    static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let n = UInt8(part) else { return nil }
            bytes.append(n)
        }
        return bytes
    }

    static func parseV6(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }  // zone id
        var tail: [UInt8] = []
        // A trailing dotted IPv4 part (::ffff:1.2.3.4).
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseV4(text[text.index(after: lastColon)...]) else { return nil }
            tail = v4
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt8]? {
            if s.isEmpty { return [] }
            var out: [UInt8] = []
            for group in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.count <= 4, let n = UInt16(group, radix: 16) else { return nil }
                out += [UInt8(n >> 8), UInt8(n & 0xff)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 {
            let all = head + tail
            return all.count == 16 ? all : nil
        }
        guard let rest = groups(halves[1]) else { return nil }
        let fill = 16 - head.count - rest.count - tail.count
        guard fill >= 2, fill % 2 == 0 else { return nil }
        return head + [UInt8](repeating: 0, count: fill) + rest + tail
    }

    /// The address with every bit past `bits` cleared.
    static func masked(_ address: [UInt8], bits: Int) -> [UInt8] {
        address.enumerated().map { index, byte in
            let kept = max(0, min(8, bits - index * 8))
            return kept == 8 ? byte : byte & ~(UInt8(0xff) >> kept)
        }
    }

    /// An address's usual text: dotted IPv4, or IPv6 with the longest run of zero groups
    /// compressed (RFC 5952).
    static func text(_ address: [UInt8]) -> String {
        guard address.count == 16 else { return address.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { Int(address[$0]) << 8 | Int(address[$0 + 1]) }
        var best = (start: -1, count: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > best.count, end - index > 1 { best = (index, end - index) }
            index = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.start >= 0 else { return hex.joined(separator: ":") }
        return hex[..<best.start].joined(separator: ":") + "::"
            + hex[(best.start + best.count)...].joined(separator: ":")
    }

    static func samePrefix(_ a: [UInt8], _ b: [UInt8], bits: Int) -> Bool {
        var remaining = bits
        var index = 0
        while remaining >= 8 {
            if a[index] != b[index] { return false }
            index += 1
            remaining -= 8
        }
        guard remaining > 0 else { return true }
        let mask = UInt8(0xff) << (8 - remaining)
        return a[index] & mask == b[index] & mask
    }
}

extension Substring {
    fileprivate func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = self
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
