// Strict backend response parsing: framing rules, interim responses, truncation, extra bytes.

import NIOCore
import Testing
@testable import ShellacHTTP

func parseResponse(_ text: String, head: Bool = false, eof: Bool = false, omitsHopByHop: Bool = false)
    -> (events: [HTTPResponseParser.Event], error: HTTPParseError?, leftover: Int) {
    var parser = HTTPResponseParser(omitsHopByHop: omitsHopByHop)
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
    /// A backend connection's responses share a repeated head's field list from the third on:
    /// the first is not remembered (many backends close after one response), the second is.
    @Test func repeatedResponseHeadsShareFromTheSecondOn() throws {
        var parser = HTTPResponseParser(omitsHopByHop: true)
        func fields() throws -> HTTPFields? {
            parser.expectResponse(requestWasHEAD: false)
            var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nServer: app\r\nCache-Control: max-age=60\r\n"
                                        + "Content-Type: text/html\r\nContent-Length: 2\r\n\r\nok")
            var head: HTTPFields?
            while parser.isExpectingResponse, let event = try parser.next(from: &buffer) {
                if case .head(let h) = event { head = h.fields }
            }
            return head
        }
        let first = try #require(try fields())
        let second = try #require(try fields())
        let third = try #require(try fields())
        #expect(first == second && second == third)
        #expect(!second.sharesStorage(with: first))
        #expect(third.sharesStorage(with: second))
    }

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
        "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\nhi",
    ])
    func badResponsesAreRejected(text: String) {
        #expect(parseResponse(text).error != nil)
    }

    @Test func identicalRepeatedContentLengthIsTolerated() {
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi").error == nil)
        let listed = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nhiEXTRA")
        #expect(listed.error == nil)
        #expect(listed.events.count == 3)  // head, "hi", end: the length is read from the list
    }
}

/// A parser that leaves hop-by-hop fields out gives what stripping them from a full parse gives.
@Suite struct HopByHopOmittingParserTests {
    func parsedHead(_ text: String, head: Bool = false, omitting: Bool) -> HTTPResponseHead? {
        guard case .head(let parsed)? = parseResponse(text, head: head, omitsHopByHop: omitting).events.first else {
            return nil
        }
        return parsed
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\nConnection: keep-alive\r\nETag: \"x\"\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\nX-Kept: 1\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nCONNECTION: Close\r\ncontent-LENGTH: 2\r\nProxy-Status: x\r\nTE: trailers\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nX-Secret: 1\r\nConnection: X-Secret, keep-alive\r\nUpgrade: h2c\r\nX-Other: 2\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: x-later\r\nX-Later: 1\r\nTrailer: Expires\r\nDate: today\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nuntil close",
        "HTTP/1.1 304 Not Modified\r\nConnection: close\r\nETag: \"y\"\r\nContent-Length: 9\r\n\r\n",
    ])
    func sameAsStrippingAFullParse(_ text: String) throws {
        let full = try #require(parsedHead(text, omitting: false))
        let omitted = try #require(parsedHead(text, omitting: true))
        var stripped = full.fields
        HopByHop.strip(&stripped, alsoRemoving: ("Content-Length", KnownName.contentLength))
        #expect(omitted.fields == stripped)
        #expect(omitted.framing == full.framing)
        #expect(omitted.keepAlive == full.keepAlive)
        #expect(omitted.status == full.status && omitted.reason == full.reason && omitted.version == full.version)
    }

    @Test func theAnswerToAHeadKeepsItsContentLength() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nConnection: keep-alive\r\n\r\n"
        let head = try #require(parsedHead(text, head: true, omitting: true))
        #expect(head.fields["Content-Length"] == "1234")
        #expect(head.fields["Connection"] == nil)
        #expect(head.framing == BodyFraming.none)
    }

    @Test func connectionOptionsDecideReuse() throws {
        let close = try #require(parsedHead("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                                            omitting: true))
        #expect(close.connectionOptions == .close)
        #expect(!close.keepAlive)
        let old = try #require(parsedHead("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
                                          omitting: true))
        #expect(old.keepAlive)
        let listed = try #require(parsedHead("HTTP/1.1 200 OK\r\nConnection: foo, CLOSE\r\nContent-Length: 0\r\n\r\n",
                                             omitting: true))
        #expect(!listed.keepAlive)
    }

    @Test func ambiguousFramingIsStillRefused() {
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                              omitsHopByHop: true).error != nil)
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
                              omitsHopByHop: true).error != nil)
        #expect(parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", omitsHopByHop: true).error != nil)
    }

    @Test func everyLineCountsTowardsTheFieldLimit() {
        let limits = HTTPParserLimits(maxHeadSize: 64 * 1024, maxFieldCount: 3, maxBodySize: Int.max)
        var parser = HTTPResponseParser(limits: limits, omitsHopByHop: true)
        parser.expectResponse(requestWasHEAD: false)
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: a\r\nTE: b\r\nTrailer: c\r\n\r\n")
        #expect(throws: HTTPParseError.self) { _ = try parser.next(from: &buffer) }
    }

    /// One connection's parser, answers to GET and HEAD in turn: a repeated head is read the way
    /// its request asks (the answer to a HEAD keeps its Content-Length), never as the last was.
    @Test func repeatedHeadsFollowTheirRequest() throws {
        var parser = HTTPResponseParser(omitsHopByHop: true)
        let text = "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 3\r\nConnection: keep-alive\r\nETag: \"e\"\r\n\r\n"
        for wasHEAD in [false, false, true, true, false, true] {
            parser.expectResponse(requestWasHEAD: wasHEAD)
            var buffer = ByteBuffer(string: text + (wasHEAD ? "" : "abc"))
            guard case .head(let head)? = try parser.next(from: &buffer) else {
                Issue.record("no head")
                return
            }
            while parser.isExpectingResponse, try parser.next(from: &buffer) != nil {}
            #expect(head.fields.map(\.name) == (wasHEAD ? ["Server", "Content-Length", "ETag"] : ["Server", "ETag"]))
            #expect(head.framing == (wasHEAD ? BodyFraming.none : .contentLength(3)))
        }
    }
}

