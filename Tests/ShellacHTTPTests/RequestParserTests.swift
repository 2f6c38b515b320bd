// Strict request parsing: accepted shapes, every rejected framing case, and the size limits.

import NIOCore
import Testing
@testable import ShellacHTTP

/// Parses `text` completely and returns the events, or the error that stopped parsing.
func parseAll(_ text: String, limits: HTTPParserLimits = HTTPParserLimits(),
              chunkSize: Int = .max) -> (events: [HTTPRequestParser.Event], error: HTTPParseError?) {
    var parser = HTTPRequestParser(limits: limits)
    var buffer = ByteBuffer()
    var events: [HTTPRequestParser.Event] = []
    let bytes = Array(text.utf8)
    var offset = 0
    repeat {
        let end = min(bytes.count, offset + chunkSize)
        buffer.writeBytes(bytes[offset..<end])
        offset = end
        do {
            while let event = try parser.next(from: &buffer) { events.append(event) }
        } catch {
            return (events, error)
        }
    } while offset < bytes.count
    return (events, nil)
}

func heads(_ events: [HTTPRequestParser.Event]) -> [HTTPRequestHead] {
    events.compactMap { if case .head(let h) = $0 { return h } else { return nil } }
}

func bodyText(_ events: [HTTPRequestParser.Event]) -> String {
    events.compactMap { if case .body(let b) = $0 { return String(buffer: b) } else { return nil } }.joined()
}

@Suite struct RequestParserTests {
    @Test func simpleGet() throws {
        let (events, error) = parseAll("GET /a?b=1 HTTP/1.1\r\nHost: Example.com\r\nX-A:  v 1 \r\n\r\n")
        #expect(error == nil)
        let head = try #require(heads(events).first)
        #expect(head.method == "GET")
        #expect(head.target == "/a?b=1")
        #expect(head.fields["host"] == "Example.com")
        #expect(head.fields["x-a"] == "v 1")
        #expect(head.framing == .none)
        #expect(events.count == 1)
    }

    @Test func methodsArriveAsSentWhetherCommonOrNot() throws {
        for method in ["GET", "PUT", "HEAD", "POST", "PURGE", "DELETE", "OPTIONS", "BAN", "get", "GETX", "GE", "M-SEARCH"] {
            let (events, error) = parseAll("\(method) / HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(error == nil, "\(method)")
            #expect(heads(events).first?.method == method)
        }
    }

    @Test func targetBytesAreCheckedWhereverTheyFallInAWord() {
        // Every byte value at every position of the first two eight-byte words and the tail.
        let base = Array("/abcdefghijklmnopqrs".utf8)
        for position in 1..<base.count {
            for byte in UInt8.min...UInt8.max {
                var target = base
                target[position] = byte
                let visible = byte > 0x20 && byte < 0x7F
                let checked = target.withUnsafeBytes { HTTPRequestParser.isVisibleASCII($0) }
                #expect(checked == visible, "byte \(byte) at \(position)")
            }
        }
        #expect(HTTPRequestParser.isVisibleASCII(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    @Test(arguments: [1, 3, 7])
    func byteByByteGivesSameResult(chunk: Int) {
        let text = "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nT: x\r\n\r\n"
        let (events, error) = parseAll(text, chunkSize: chunk)
        #expect(error == nil)
        #expect(bodyText(events) == "hello")
        #expect(events.last == .end)
    }

    @Test func pipelinedRequestsParseInOrder() {
        let text = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: h\r\n\r\n"
        let (events, error) = parseAll(text)
        #expect(error == nil)
        #expect(heads(events).map(\.target) == ["/1", "/2", "/3"])
        #expect(bodyText(events) == "abc")
    }

    @Test func whatRemainsOfABodyIsKnownOnlyWhenItsLengthWasAnnounced() throws {
        var parser = HTTPRequestParser()
        var buffer = ByteBuffer(string: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabcd")
        #expect(parser.bodyBytesLeft == nil)
        _ = try parser.next(from: &buffer)  // the head
        #expect(parser.bodyBytesLeft == 10)
        _ = try parser.next(from: &buffer)  // "abcd"
        #expect(parser.bodyBytesLeft == 6)
        buffer.writeString("efghij")
        _ = try parser.next(from: &buffer)
        #expect(try parser.next(from: &buffer) == .end)
        #expect(parser.bodyBytesLeft == nil)

        var chunked = HTTPRequestParser()
        var input = ByteBuffer(string: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        _ = try chunked.next(from: &input)
        #expect(chunked.isInBody)
        #expect(chunked.bodyBytesLeft == nil)
    }

    @Test func http10WithoutHostIsAccepted() {
        let (events, error) = parseAll("GET / HTTP/1.0\r\n\r\n")
        #expect(error == nil)
        #expect(heads(events).first?.keepAlive == false)
    }

    @Test func leadingEmptyLinesAreIgnored() {
        let (events, error) = parseAll("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(error == nil)
        #expect(heads(events).count == 1)
    }

    static let rejected: [(String, String, Int)] = [
        ("CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("two CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
        ("CL list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
        ("CL non-numeric", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3a\r\n\r\n", 400),
        ("CL signed", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", 400),
        ("TE gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("TE twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        ("TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("bad chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("chunk size 0x", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400),
        ("chunk no CRLF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
        ("chunk huge", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
        ("NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", 400),
        ("bare CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400),
        ("bare LF", "GET / HTTP/1.1\nHost: h\n\n", 400),
        ("no Host", "GET / HTTP/1.1\r\n\r\n", 400),
        ("two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        ("Host with path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
        ("bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("bad version", "GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400),
        ("HTTP/2 version", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        ("extra space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("relative target", "GET foo HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ]

    @Test(arguments: rejected)
    func rejectsAmbiguousOrMalformed(name: String, text: String, status: Int) {
        let (_, error) = parseAll(text)
        #expect(error?.status == status, "\(name)")
    }

    @Test func bytesAfterARejectedRequestAreNeverParsed() {
        var parser = HTTPRequestParser()
        var buffer = ByteBuffer(string: "GET / HTTP/1.1\r\nHost : h\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(throws: HTTPParseError.self) { _ = try parser.next(from: &buffer) }
        #expect(throws: HTTPParseError.self) { _ = try parser.next(from: &buffer) }
    }

    @Test func limits() {
        let small = HTTPParserLimits(maxHeadSize: 200, maxFieldLineSize: 40, maxFieldCount: 3, maxURLSize: 50,
                                     maxBodySize: 10)
        #expect(parseAll("GET /\(String(repeating: "a", count: 60)) HTTP/1.1\r\nHost: h\r\n\r\n",
                         limits: small).error?.status == 414)
        #expect(parseAll("GET /\(String(repeating: "a", count: 300))", limits: small).error?.status == 414)
        #expect(parseAll("GET / HTTP/1.1\r\nHost: h\r\nX: \(String(repeating: "v", count: 50))\r\n\r\n",
                         limits: small).error?.status == 431)
        #expect(parseAll("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: small).error?.status == 431)
        let manyLines = (0..<20).map { "X\($0): 1234567890123456789012345\r\n" }.joined()
        #expect(parseAll("GET / HTTP/1.1\r\n\(manyLines)", limits: small).error?.status == 431)
        #expect(parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits: small).error?.status == 413)
        let chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n"
        #expect(parseAll(chunked, limits: small).error?.status == 413)
    }

    @Test func midHeadIsReportedForTheHeadTimeout() throws {
        var parser = HTTPRequestParser()
        var buffer = ByteBuffer(string: "GET / HT")
        #expect(try parser.next(from: &buffer) == nil)
        #expect(parser.isMidHead(buffered: buffer.readableBytes))
        buffer.writeString("TP/1.1\r\nHost: h\r\n\r\n")
        #expect(try parser.next(from: &buffer) != nil)
        #expect(!parser.isMidHead(buffered: buffer.readableBytes))
    }
}
