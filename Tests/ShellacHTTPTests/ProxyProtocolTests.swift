// The PROXY protocol header, versions 1 and 2: the addresses read, every incomplete prefix
// waiting for more, and what is refused.

import ShellacHTTP
import ShellacTestSupport
import Testing

@Suite struct ProxyProtocolTests {
    func parse(_ bytes: [UInt8]) -> ProxyProtocol.Result {
        bytes.withUnsafeBytes { ProxyProtocol.parse($0) }
    }

    func parse(_ text: String) -> ProxyProtocol.Result { parse(Array(text.utf8)) }

    @Test func versionOneNamesTheClient() {
        let line = "PROXY TCP4 203.0.113.7 192.0.2.10 56324 443\r\n"
        #expect(parse(line + "GET / HTTP/1.1\r\n") == .header(length: line.utf8.count, addresses: ConnectionEnds(
            source: "203.0.113.7", sourcePort: 56324, destination: "192.0.2.10", destinationPort: 443)))
        let six = "PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 65535\r\n"
        #expect(parse(six) == .header(length: six.utf8.count, addresses: ConnectionEnds(
            source: "2001:db8::1", sourcePort: 1, destination: "::1", destinationPort: 65535)))
        #expect(parse("PROXY UNKNOWN\r\n") == .header(length: 15, addresses: nil))
        #expect(parse("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n") == .header(length: 35, addresses: nil))
    }

    @Test func everyPrefixOfAHeaderWaitsForMore() {
        let v1 = Array("PROXY TCP4 203.0.113.7 192.0.2.10 56324 443\r\n".utf8)
        for count in 0..<v1.count { #expect(parse(Array(v1[..<count])) == .needMore, "\(count) bytes") }
        let v2 = Self.versionTwo(command: 0x21, family: 0x11, addresses: [203, 0, 113, 7, 192, 0, 2, 10, 0xDC, 0x04, 1, 0xBB])
        for count in 0..<v2.count { #expect(parse(Array(v2[..<count])) == .needMore, "\(count) bytes") }
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\n", "PROXY TCP4 203.0.113.7 192.0.2.10 56324\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n",
        "PROXY TCP4 ::1 ::1 1 2\r\n", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
        "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
        "PROXY " + String(repeating: "x", count: 120),
    ])
    func malformedVersionOneIsRefused(text: String) {
        guard case .invalid = parse(text) else { Issue.record("accepted \(text.debugDescription)"); return }
    }

    static func versionTwo(command: UInt8, family: UInt8, addresses: [UInt8], extra: [UInt8] = []) -> [UInt8] {
        let body = addresses + extra
        return [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, command, family,
                UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    @Test func versionTwoNamesTheClient() {
        let four = Self.versionTwo(command: 0x21, family: 0x11, addresses: [203, 0, 113, 7, 192, 0, 2, 10, 0xDC, 0x04, 1, 0xBB],
                                   extra: [0x04, 0x00, 0x01, 0x00])  // a TLV, skipped
        #expect(parse(four + Array("GET".utf8)) == .header(length: four.count, addresses: ConnectionEnds(
            source: "203.0.113.7", sourcePort: 56324, destination: "192.0.2.10", destinationPort: 443)))
        let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        let destination: [UInt8] = [UInt8](repeating: 0, count: 15) + [1]
        let six = Self.versionTwo(command: 0x21, family: 0x21, addresses: source + destination + [0, 80, 0, 81])
        #expect(parse(six) == .header(length: six.count, addresses: ConnectionEnds(
            source: "2001:db8::1", sourcePort: 80, destination: "::1", destinationPort: 81)))
        let local = Self.versionTwo(command: 0x20, family: 0x00, addresses: [])
        #expect(parse(local) == .header(length: 16, addresses: nil))
        let unix = Self.versionTwo(command: 0x21, family: 0x31, addresses: [UInt8](repeating: 0, count: 216))
        #expect(parse(unix) == .header(length: unix.count, addresses: nil))
    }

    /// What Shellac sends to a `.proxy_header` backend reads back as the same ends; without them
    /// (a health probe) or with mixed families, a header naming none.
    @Test(arguments: [1, 2])
    func headersWrittenReadBack(version: Int) {
        for ends in [ConnectionEnds(source: "203.0.113.7", sourcePort: 56324, destination: "192.0.2.10", destinationPort: 443),
                     ConnectionEnds(source: "2001:db8::9", sourcePort: 8080, destination: "::1", destinationPort: 80)] {
            let bytes = ProxyProtocol.header(version: version, ends: ends)
            #expect(parse(bytes) == .header(length: bytes.count, addresses: ends))
        }
        let none = ProxyProtocol.header(version: version, ends: nil)
        #expect(parse(none) == .header(length: none.count, addresses: nil))
        let mixed = ProxyProtocol.header(version: version, ends: ConnectionEnds(
            source: "203.0.113.7", sourcePort: 1, destination: "::1", destinationPort: 2))
        #expect(parse(mixed) == .header(length: mixed.count, addresses: nil))
        #expect(version == 1 ? none == Array("PROXY UNKNOWN\r\n".utf8) : none.count == 16)
    }

    /// Bytes from a hostile peer never crash the reader, and a header never claims more bytes
    /// than there are (seeded, so a failure repeats).
    @Test func randomBytesNeverOverrun() {
        var random = SeededGenerator(state: 23)
        let starts: [[UInt8]] = [[], Array("PROXY ".utf8), Array("PROXY TCP4 ".utf8), Array("PROXY TCP6 ".utf8),
                                 Array(ProxyProtocolTests.versionTwo(command: 0x21, family: 0x11, addresses: []).prefix(12))]
        for round in 0..<3_000 {
            var bytes = starts[round % starts.count]
            let alphabet: [UInt8] = Array("0123456789.: abcdefTCPUNKOWXY\r\n".utf8) + [0, 0x11, 0x21, 0x20, 0xFF]
            for _ in 0..<Int.random(in: 0..<60, using: &random) {
                bytes.append(Bool.random(using: &random) ? alphabet.randomElement(using: &random)!
                                                          : UInt8.random(in: 0...255, using: &random))
            }
            if case .header(let length, _) = parse(bytes) {
                #expect(length <= bytes.count, "\(bytes)")
            }
        }
    }

    @Test func malformedVersionTwoIsRefused() {
        var badSignature = Self.versionTwo(command: 0x21, family: 0x11, addresses: [UInt8](repeating: 1, count: 12))
        badSignature[7] = 0x00
        for bytes in [badSignature,
                      Self.versionTwo(command: 0x11, family: 0x11, addresses: [UInt8](repeating: 1, count: 12)),
                      Self.versionTwo(command: 0x22, family: 0x11, addresses: [UInt8](repeating: 1, count: 12)),
                      Self.versionTwo(command: 0x21, family: 0x11, addresses: [UInt8](repeating: 1, count: 8))] {
            guard case .invalid = parse(bytes) else { Issue.record("accepted \(bytes)"); continue }
        }
    }
}
