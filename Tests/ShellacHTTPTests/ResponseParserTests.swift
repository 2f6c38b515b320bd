// Strict backend response parsing: framing rules, interim responses, truncation, extra bytes.

import NIOCore
import Testing
@testable import ShellacHTTP

func parseResponse(_ text: String, head: Bool = false, eof: Bool = false)
    -> (events: [HTTPResponseParser.Event], error: HTTPParseError?, leftover: Int) {
    var parser = HTTPResponseParser()
    parser.expectResponse(requestWasHEAD: head)
    var buffer = ByteBuffer(string: text)
    var events: [HTTPResponseParser.Event] = []
    do {
        while parser.isExpectingResponse, let event = try parser.next(from: &buffer) { events.append(event) }
        if eof, parser.isExpectingResponse, let event = try parser.finishAtEOF() { events.append(event) }
    } catch {
        return (events, error, buffer.readableBytes)
    }
    return (events, nil, buffer.readableBytes)
}

@Suite struct ResponseParserTests {
    @Test func contentLengthBody() {
        let r = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
        #expect(r.error == nil)
        #expect(r.events.count == 3)
        #expect(r.leftover == 5, "extra bytes stay visible so the connection is not reused")
    }

    @Test func interimResponsesAreSkipped() {
        let r = parseResponse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        #expect(r.error == nil)
        guard case .head(let head) = r.events.first else { Issue.record("no head"); return }
        #expect(head.status == 204)
        #expect(r.events.last == .end)
    }

    @Test func headAnd304HaveNoBody() {
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true).events.count == 2)
        #expect(parseResponse("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n").events.count == 2)
    }

    @Test func closeDelimitedBodyEndsAtEOF() {
        let r = parseResponse("HTTP/1.0 200 OK\r\n\r\nbody", eof: true)
        #expect(r.error == nil)
        #expect(r.events.last == .end)
    }

    @Test func truncatedBodyIsAnError() {
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", eof: true).error != nil)
        #expect(parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", eof: true).error != nil)
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
    ])
    func badResponsesAreRejected(text: String) {
        #expect(parseResponse(text).error != nil)
    }

    @Test func identicalRepeatedContentLengthIsTolerated() {
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi").error == nil)
    }
}
