// ProxyProtocol: the PROXY protocol header (versions 1 and 2, as HAProxy specifies them) that a
// TLS terminator or load balancer (hitch, HAProxy, a cloud load balancer) sends before the
// first request of a connection, naming the client it accepted. A listener marked PROXY reads
// it first; VCL then sees that client as client.ip and the terminator as remote.ip.

/// The two ends of a TCP connection, each an address and a port: what a PROXY header names (the
/// client it accepted, and where that client connected), or a connection's own ends.
public struct ConnectionEnds: Sendable, Equatable {
    public var source: String
    public var sourcePort: Int
    public var destination: String
    public var destinationPort: Int

    public init(source: String, sourcePort: Int, destination: String, destinationPort: Int) {
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
    }
}

public enum ProxyProtocol {
    public enum Result: Sendable, Equatable {
        /// The bytes so far can begin a header: wait for more.
        case needMore
        /// Not a PROXY header, or a malformed one: the connection is to be closed.
        case invalid(String)
        /// A header of `length` bytes. `addresses` nil: it names none to use (v1 UNKNOWN, a v2
        /// LOCAL command, or a family other than TCP over IPv4 or IPv6): the connection's own apply.
        case header(length: Int, addresses: ConnectionEnds?)
    }

    /// Version 1's longest line, "\r\n" included.
    static let maxLineLength = 107
    /// Version 2's signature: the 12 bytes that begin every header.
    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// The header to send first on a connection to a backend that expects one (`.proxy_header`):
    /// version 1 or 2, naming `ends` (the client and the address it reached). Without ends, or
    /// when they are not both IPv4 or both IPv6, a header that names none: v1 UNKNOWN, v2 LOCAL
    /// (what a health probe sends).
    public static func header(version: Int, ends: ConnectionEnds?) -> [UInt8] {
        let source = ends.flatMap { IPAddress.parse($0.source) }
        let destination = ends.flatMap { IPAddress.parse($0.destination) }
        let addresses: (source: [UInt8], destination: [UInt8], ends: ConnectionEnds)? =
            if let ends, let source, let destination, source.count == destination.count {
                (source, destination, ends)
            } else {
                nil
            }
        if version == 1 {
            guard let addresses else { return Array("PROXY UNKNOWN\r\n".utf8) }
            let family = addresses.source.count == 4 ? "TCP4" : "TCP6"
            let line = "PROXY \(family) \(IPAddress.text(addresses.source)) \(IPAddress.text(addresses.destination)) "
                + "\(addresses.ends.sourcePort) \(addresses.ends.destinationPort)\r\n"
            return Array(line.utf8)
        }
        guard let addresses else { return signature + [0x20, 0x00, 0x00, 0x00] }  // LOCAL, no addresses
        func port(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
        let body = addresses.source + addresses.destination + port(addresses.ends.sourcePort)
            + port(addresses.ends.destinationPort)
        let family: UInt8 = addresses.source.count == 4 ? 0x11 : 0x21
        return signature + [0x21, family, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    /// Reads the header at the start of `bytes`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result {
        if bytes.first == UInt8(ascii: "P") { return parseVersion1(bytes) }
        if bytes.first == signature[0] { return parseVersion2(bytes) }
        return bytes.isEmpty ? .needMore : .invalid("the connection does not start with a PROXY header")
    }

    /// "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n", or "PROXY UNKNOWN…\r\n".
    private static func parseVersion1(_ bytes: UnsafeRawBufferPointer) -> Result {
        let prefix = Array("PROXY ".utf8)
        guard bytes.count >= prefix.count else {
            return bytes.elementsEqual(prefix.prefix(bytes.count)) ? .needMore : .invalid("not a PROXY header")
        }
        guard bytes.prefix(prefix.count).elementsEqual(prefix) else { return .invalid("not a PROXY header") }
        guard let lineFeed = bytes.prefix(maxLineLength).firstIndex(of: UInt8(ascii: "\n")) else {
            return bytes.count < maxLineLength ? .needMore : .invalid("PROXY header longer than \(maxLineLength) bytes")
        }
        guard lineFeed > 0, bytes[lineFeed - 1] == UInt8(ascii: "\r") else {
            return .invalid("PROXY header line does not end with CRLF")
        }
        let line = String(decoding: bytes[prefix.count..<(lineFeed - 1)], as: UTF8.self)
        let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        if words.first == "UNKNOWN" { return .header(length: lineFeed + 1, addresses: nil) }
        guard words.count == 5, words[0] == "TCP4" || words[0] == "TCP6" else {
            return .invalid("PROXY header: expected TCP4, TCP6 or UNKNOWN and four fields")
        }
        let wantsV6 = words[0] == "TCP6"
        guard let source = canonicalAddress(words[1], v6: wantsV6), let destination = canonicalAddress(words[2], v6: wantsV6),
              let sourcePort = port(words[3]), let destinationPort = port(words[4]) else {
            return .invalid("PROXY header: bad address or port")
        }
        return .header(length: lineFeed + 1, addresses: ConnectionEnds(source: source, sourcePort: sourcePort,
                                                                       destination: destination,
                                                                       destinationPort: destinationPort))
    }

    /// The binary form: signature, version and command, family, length, addresses, TLVs.
    private static func parseVersion2(_ bytes: UnsafeRawBufferPointer) -> Result {
        let known = min(bytes.count, signature.count)
        guard bytes.prefix(known).elementsEqual(signature.prefix(known)) else { return .invalid("not a PROXY header") }
        guard bytes.count >= 16 else { return .needMore }
        let versionAndCommand = bytes[12]
        guard versionAndCommand >> 4 == 2 else { return .invalid("PROXY header version \(versionAndCommand >> 4)") }
        let command = versionAndCommand & 0x0F
        guard command <= 1 else { return .invalid("PROXY header command \(command)") }
        let length = Int(bytes[14]) << 8 | Int(bytes[15])
        guard bytes.count >= 16 + length else { return .needMore }
        let total = 16 + length
        guard command == 1 else { return .header(length: total, addresses: nil) }  // LOCAL: a health check
        let body = UnsafeRawBufferPointer(rebasing: bytes[16..<total])
        let size: Int  // of each address
        switch bytes[13] {
        case 0x11: size = 4  // TCP over IPv4
        case 0x21: size = 16  // TCP over IPv6
        default: return .header(length: total, addresses: nil)  // UDP, UNIX sockets, unspecified
        }
        guard length >= 2 * size + 4 else { return .invalid("PROXY header too short for its addresses") }
        func port(at offset: Int) -> Int { Int(body[offset]) << 8 | Int(body[offset + 1]) }
        return .header(length: total, addresses: ConnectionEnds(
            source: IPAddress.text(Array(body[0..<size])), sourcePort: port(at: 2 * size),
            destination: IPAddress.text(Array(body[size..<(2 * size)])), destinationPort: port(at: 2 * size + 2)))
    }

    private static func port(_ text: String) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int(text), value <= 65535 else { return nil }
        return value
    }

    /// The address in its usual form, or nil when it is not one of the family named.
    private static func canonicalAddress(_ text: String, v6: Bool) -> String? {
        let bytes = v6 ? IPAddress.parseV6(text) : IPAddress.parseV4(Substring(text))
        guard let bytes, bytes.count == (v6 ? 16 : 4) else { return nil }
        return IPAddress.text(bytes)
    }
}
