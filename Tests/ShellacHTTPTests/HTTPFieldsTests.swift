// Header lists: case-insensitive lookup, and the name bits that answer "absent" quickly staying
// exact through every kind of change (checked against a plain list with a seeded generator).

import NIOCore
import ShellacTestSupport
import Testing
@testable import ShellacHTTP

@Suite struct HTTPFieldsTests {
    private let names = ["Host", "host", "HOST", "Cookie", "Accept", "Accept-Encoding", "X-A", "x-b", "Vary",
                         "Cache-Control", "ETag", "If-None-Match", "A", "Authorization", "Range"]

    @Test func lookupsAgreeWithAPlainListThroughRandomChanges() {
        var random = SeededGenerator(state: 2026)
        var fields = HTTPFields()
        var model: [(String, String)] = []
        func same(_ a: String, _ b: String) -> Bool { a.lowercased() == b.lowercased() }
        for step in 0..<3_000 {
            let name = names.randomElement(using: &random)!
            let value = "v\(step)"
            switch random.next() % 5 {
            case 0, 1:
                fields.add(name, value)
                model.append((name, value))
            case 2:
                fields.set(name, value)
                if let index = model.firstIndex(where: { same($0.0, name) }) {
                    model[index].1 = value
                    model = model.enumerated().filter { $0.offset <= index || !same($0.element.0, name) }.map(\.element)
                } else {
                    model.append((name, value))
                }
            case 3:
                fields.remove(name)
                model.removeAll { same($0.0, name) }
            default:
                let dropped = names.randomElement(using: &random)!
                fields.removeAll { $0.name == dropped }
                model.removeAll { $0.0 == dropped }
            }
            for probe in names {
                let expected = model.filter { same($0.0, probe) }.map(\.1)
                #expect(fields[probe] == expected.first)
                #expect(fields.values(probe) == expected)
                #expect(fields.contains(probe) == !expected.isEmpty)
                #expect(fields.count(of: probe) == expected.count)
            }
            #expect(fields == HTTPFields(model))
        }
    }

    /// The bits of names written in the source (folded to constants) are those of their text.
    @Test func knownNamesHaveTheBitsOfTheirText() {
        let known: [(UInt64, String)] = [
            (KnownName.acceptEncoding, "Accept-Encoding"), (KnownName.age, "Age"),
            (KnownName.authorization, "Authorization"), (KnownName.cacheControl, "Cache-Control"),
            (KnownName.connection, "Connection"), (KnownName.contentLength, "Content-Length"),
            (KnownName.cookie, "Cookie"), (KnownName.date, "Date"), (KnownName.expect, "Expect"),
            (KnownName.expires, "Expires"), (KnownName.host, "Host"), (KnownName.ifModifiedSince, "If-Modified-Since"),
            (KnownName.ifNoneMatch, "If-None-Match"), (KnownName.range, "Range"),
            (KnownName.transferEncoding, "Transfer-Encoding"), (KnownName.vary, "Vary"), (KnownName.via, "Via"),
            (KnownName.xForwardedFor, "X-Forwarded-For"), (KnownName.xVarnish, "X-Varnish"),
            (HTTPField.nameBit(known: "proxy-authorization"), "Proxy-Authorization"), (HTTPField.nameBit(known: "TE"), "te"),
        ]
        for (bit, name) in known {
            #expect(bit == HTTPField.nameBit(name), "\(name)")
        }
        let hopByHop = ["Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade"]
        #expect(HopByHop.alwaysHopByHopBits == hopByHop.reduce(HTTPField.startsWithP) { $0 | HTTPField.nameBit($1) })
    }

    @Test func aRenamedFieldIsFoundByItsNewName() {
        var field = HTTPField(name: "X-Old", value: "v")
        field.name = "Cookie"
        #expect(field.nameBit == HTTPField.nameBit("cookie"))
        let fields = HTTPFields([field])
        #expect(fields["COOKIE"] == "v")
        #expect(!fields.contains("X-Old"))
    }

    @Test func anEmptyNameIsFoundToo() {
        let fields = HTTPFields([("", "x")])
        #expect(fields[""] == "x")
        #expect(!fields.contains("A"))
    }

    @Test func tokenBytesAreExactlyRFC9110Tchar() {
        let punctuation = Set("!#$%&'*+-.^_`|~".utf8)
        for byte in UInt8.min...UInt8.max {
            let spelled = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || punctuation.contains(byte)
            #expect(HeadParser.isTokenByte(byte) == spelled, "byte \(byte)")
        }
    }

    /// The word-at-a-time check agrees with the byte rule for every byte at every place in a
    /// word, after whole words and in the tail, beside every other kind of byte.
    @Test func valueChecksAgreeWithTheByteRuleWhereverTheByteIs() {
        let neighbours: [UInt8] = [0x61, 0x09, 0x20, 0x7E, 0x80, 0xFF]
        for byte in UInt8.min...UInt8.max {
            for neighbour in neighbours {
                for length in [1, 7, 8, 9, 16, 19] {
                    for place in 0..<length {
                        var bytes = [UInt8](repeating: neighbour, count: length)
                        bytes[place] = byte
                        let expected = HeadParser.isValueByte(byte) && HeadParser.isValueByte(neighbour)
                        let answer = bytes.withUnsafeBufferPointer { HTTPField.isValidValue(bytes: $0) }
                        if answer != expected { Issue.record("byte \(byte) at \(place) of \(length) among \(neighbour)") }
                    }
                }
            }
        }
        #expect(HTTPField.isValidValue(""))
        #expect(HTTPField.isValidValue("sessionid=abc; csrftoken=\u{9}def; naïve=1"))
        #expect(!HTTPField.isValidValue("sessionid=abc; csrftoken=def\r\nX-Evil: 1"))
        #expect(!HTTPField.isValidValue("twelve bytes\u{7F}"))
    }

    @Test func caseInsensitiveNameEqualityWithTheSameSpellingAndWithout() {
        let long = "X-A-Rather-Long-Header-Name"
        #expect("Host".equalsIgnoringASCIICase("Host") && "host".equalsIgnoringASCIICase("HOST"))
        #expect(long.equalsIgnoringASCIICase(long.uppercased()) && long.equalsIgnoringASCIICase(String(long)))
        #expect(!"Host".equalsIgnoringASCIICase("Hosts") && !"Host".equalsIgnoringASCIICase("Hast"))
        #expect(!long.equalsIgnoringASCIICase(long + "s") && !"".equalsIgnoringASCIICase("a"))
        #expect("".equalsIgnoringASCIICase(""))
    }
}

/// Parsed names that match a common name reuse its String; every other name is made from its
/// own bytes. Whatever the lookup answers must be the name exactly as sent.
@Suite struct CommonFieldNameTests {
    func lookUp(_ name: String) -> String? {
        var bytes = Array(name.utf8)
        return bytes.withUnsafeMutableBytes { raw in
            CommonFieldNames.name(UnsafeRawBufferPointer(raw), nameBit: HTTPField.nameBit(UnsafeRawBufferPointer(raw)))?.name
        }
    }

    @Test func commonNamesAreFoundAsSpelled() {
        for name in ["Host", "Content-Length", "content-length", "Content-Encoding", "Age", "x-forwarded-for"] {
            #expect(lookUp(name) == name)
        }
    }

    @Test func anyOtherNameIsNotFoundOrFoundExactly() {
        var seed: UInt64 = 7
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33) % n
        }
        let alphabet = Array("aAcCeEhHnNoOsStT-xX".utf8)
        for _ in 0..<20_000 {
            let name = String(decoding: (0..<(1 + next(17))).map { _ in alphabet[next(alphabet.count)] }, as: UTF8.self)
            let found = lookUp(name)
            #expect(found == nil || found == name, "\(name) gave \(found ?? "")")
        }
        // The same bit, length and first word as a common name, differing further on.
        for name in ["Hosts", "HOST", "Content-Lengt", "Content-Length1", "Content-Xength", "Accept-Xncoding", "Acceqt",
                     "Ag", "A"] {
            #expect(lookUp(name) == nil, "\(name)")
        }
    }

    @Test func parsedFieldsKeepTheirSpelling() throws {
        var buffer = ByteBuffer(string: "GET / HTTP/1.1\r\nhost: a\r\nCONTENT-TYPE: b\r\nContent-Type: c\r\nX-Y: d\r\n\r\n")
        var parser = HTTPRequestParser()
        guard case .head(let head)? = try parser.next(from: &buffer) else {
            Issue.record("no head")
            return
        }
        #expect(head.fields.map(\.name) == ["host", "CONTENT-TYPE", "Content-Type", "X-Y"])
    }

    /// A parser remembers each common field's last value and hands out the same String when the
    /// next message repeats it byte for byte; a changed value is read afresh, and a bad value is
    /// rejected even when it has the remembered value's length.
    @Test func repeatedValuesAreReusedAndOthersReadAfresh() throws {
        let agent = "Mozilla/5.0 (X11; Linux x86_64) Example/1.0"
        var parser = HTTPRequestParser()
        func agentOf(_ text: String) throws -> String? {
            var buffer = ByteBuffer(string: text)
            guard case .head(let head)? = try parser.next(from: &buffer) else { return nil }
            _ = try parser.next(from: &buffer)  // the (empty) body's end
            return head.fields["User-Agent"]
        }
        // A connection's first request is not remembered (many connections send only one).
        var opening = try #require(try agentOf("GET /0 HTTP/1.1\r\nHost: a\r\nUser-Agent: \(agent)\r\n\r\n"))
        var first = try #require(try agentOf("GET /1 HTTP/1.1\r\nHost: a\r\nUser-Agent: \(agent)\r\n\r\n"))
        var second = try #require(try agentOf("GET /2 HTTP/1.1\r\nHost: a\r\nuser-agent:  \(agent) \r\n\r\n"))
        #expect(opening == agent && first == agent && second == agent)
        let openingShared = opening.withUTF8 { a in first.withUTF8 { b in a.baseAddress == b.baseAddress } }
        #expect(!openingShared, "the first request's values are not kept")
        let shared = first.withUTF8 { a in second.withUTF8 { b in a.baseAddress == b.baseAddress } }
        #expect(shared, "a repeated value is the remembered String, not a new one")
        #expect(try agentOf("GET /3 HTTP/1.1\r\nHost: a\r\nUser-Agent: \(agent.dropLast())x\r\n\r\n")
                == agent.dropLast() + "x")
        #expect(try agentOf("GET /4 HTTP/1.1\r\nHost: b\r\nUser-Agent: \(agent)\r\n\r\n") == agent)
        let sameEnd = "Xozilla" + agent.dropFirst(7)  // the same length and last sixteen bytes
        #expect(try agentOf("GET /4 HTTP/1.1\r\nHost: b\r\nUser-Agent: \(sameEnd)\r\n\r\n") == sameEnd)
        #expect(try agentOf("GET /4 HTTP/1.1\r\nHost: b\r\nUser-Agent: Ab\r\n\r\n") == "Ab")
        #expect(try agentOf("GET /4 HTTP/1.1\r\nHost: b\r\nUser-Agent: Ac\r\n\r\n") == "Ac")
        _ = try agentOf("GET /5 HTTP/1.1\r\nHost: a\r\nUser-Agent: \(agent)\r\n\r\n")
        var bad = ByteBuffer(string: "GET /6 HTTP/1.1\r\nHost: a\r\nUser-Agent: \(agent.dropLast())\u{1}\r\n\r\n")
        #expect(throws: HTTPParseError.self) { try parser.next(from: &bad) }
    }

    /// A line repeated byte for byte at its place in the next head is the field it made before;
    /// any other line, the same field moved or changed by one byte, or spelled otherwise, is
    /// parsed (and checked) anew.
    @Test func repeatedLinesGiveTheirFieldAndOthersAreParsed() throws {
        var parser = HTTPRequestParser()
        func fields(_ lines: [String]) throws -> [HTTPField]? {
            var buffer = ByteBuffer(string: "GET / HTTP/1.1\r\n" + lines.map { $0 + "\r\n" }.joined() + "\r\n")
            guard case .head(let head)? = try parser.next(from: &buffer) else { return nil }
            _ = try parser.next(from: &buffer)
            return Array(head.fields)
        }
        func expected(_ lines: [String]) -> [HTTPField] {
            lines.map { line in
                let colon = line.firstIndex(of: ":")!
                let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
                return HTTPField(name: String(line[..<colon]), value: String(value))
            }
        }
        let long = "X-Long: " + String(repeating: "v", count: RecentFieldLines.maxLineLength)
        let heads: [[String]] = [
            ["Host: a", "User-Agent: agent/1.0", long, "Accept: */*", "X-Custom: one"],
            ["Host: a", "User-Agent: agent/1.0", long, "Accept: */*", "X-Custom: one"],
            ["Host: a", "User-Agent: agent/1.1", long + "w", "Accept:  */*", "X-Custom: two"],
            ["Host: a", "Accept: */*", "User-Agent: agent/1.1", "x-custom: two"],
            ["HOST: a", "Accept: */*", "User-Agent: agent/1.1", "x-custom: two", "Extra: 1"],
            ["HOST: a", "Accept: */*", "User-Agent: agent/1.1", "x-custom: two", "Extra: 1"],
            ["HOST: a", "Accept: */*"],
            ["HOST: a", "Accept: */*", "User-Agent: agent/1.1", "x-custom: two", "Extra: 1"],
            ["HOST: a", "Accept: */*", "User-Agent: agent/1.1", "x-custom: two", "Extra: 1", "Extra: 2"],
            ["HOST: a", "Accept: */*", "User-Agent: agent/1.1", "x-custom: two", "Extra: 1", "Extra: 2"],
            ["HOST: a"],
            ["HOST: a"],
            ["HOST: a", "Accept: */*"],
        ]
        for lines in heads {
            #expect(try fields(lines) == expected(lines), "\(lines)")
        }
        var bad = ByteBuffer(string: "GET / HTTP/1.1\r\nHOST: a\r\nAccept: */\u{1}\r\n\r\n")
        #expect(throws: HTTPParseError.self) { try parser.next(from: &bad) }
    }

    /// A browser's head repeats whole with a Cookie line of some hundreds of bytes: it is given
    /// the last head's list, shared; a cookie changed by one byte (same length) is read anew;
    /// lines past what a connection keeps of long lines are still read right, every time.
    @Test func headsWithLongLinesRepeatWhole() throws {
        var parser = HTTPRequestParser()
        func head(_ cookie: String, _ more: [String] = []) throws -> HTTPFields? {
            let lines = ["Host: a", "User-Agent: agent/1.0", "Cookie: " + cookie] + more
            var buffer = ByteBuffer(string: "GET / HTTP/1.1\r\n" + lines.map { $0 + "\r\n" }.joined() + "\r\n")
            guard case .head(let head)? = try parser.next(from: &buffer) else { return nil }
            _ = try parser.next(from: &buffer)
            return head.fields
        }
        let cookie = "_ga=GA1.1.1234567890.1700000000; csrftoken=" + String(repeating: "q", count: 300)
        let opening = try #require(try head(cookie))  // a connection's first head is not kept
        let first = try #require(try head(cookie))
        let second = try #require(try head(cookie))
        #expect(!first.sharesStorage(with: opening))
        #expect(second.sharesStorage(with: first))
        let changed = String(cookie.dropLast()) + "r"
        let third = try #require(try head(changed))
        #expect(!third.sharesStorage(with: second) && third["Cookie"] == changed)
        let huge = (0..<6).map { "X-Big-\($0): " + String(repeating: "b", count: 2000) }
        for _ in 0..<2 {
            let big = try #require(try head(cookie, huge))
            #expect(big["Cookie"] == cookie && big["X-Big-5"] == String(repeating: "b", count: 2000))
            #expect(big.count == 9)
        }
        #expect(try head(cookie)?["Cookie"] == cookie)
    }

    /// A field line: common and other names alike, each way of getting the name wrong rejected
    /// with its own reason.
    @Test func fieldLinesAreSplitAndCheckedWhateverTheName() {
        func field(_ line: String) -> Result<HTTPField, HTTPParseError> {
            Array(line.utf8).withUnsafeBytes { bytes in Result { () throws(HTTPParseError) in try HeadParser.field(bytes) } }
        }
        for (line, name, value) in [("Host: a:b", "Host", "a:b"), ("host:\tx ", "host", "x"), ("X-Custom:  v w", "X-Custom", "v w"),
                                    ("Content-Length:5", "Content-Length", "5"), ("Age:", "Age", "")] {
            guard case .success(let parsed) = field(line) else { Issue.record("\(line) rejected"); continue }
            #expect(parsed.name == name && parsed.value == value, "\(line)")
            #expect(parsed.nameBit == HTTPField.nameBit(name), "\(line)")
        }
        for (line, reason) in [("Host : h", "whitespace in or after a header field name"),
                               ("X-Custom : h", "whitespace in or after a header field name"),
                               (": x", "empty header field name"), ("Ho\u{1}st: x", "invalid character in header field name"),
                               ("Hé: x", "invalid character in header field name"), ("NoColon", "header line without colon"),
                               (" Host: x", "obsolete line folding in header"), ("Host: a\u{7F}", "control character in header field value")] {
            guard case .failure(let error) = field(line) else { Issue.record("\(line) accepted"); continue }
            #expect(error.message == reason, "\(line)")
        }
    }
}
