// HTTPResponseParser: the strict parser for backend responses. Rejects what the request parser
// rejects (conflicting Content-Length, bad chunking, non-HTTP status lines) so a confused backend
// yields a 502 and a closed connection, never a cached or smuggled response. Skips 1xx interim
// responses. The caller says whether the request was HEAD (RFC 9112 §6.3).

import NIOCore

public struct HTTPResponseParser {
    public enum Event: Equatable {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        case end
    }

    private enum State {
        case idle
        case head(scanned: Int, requestWasHEAD: Bool)
        case body(BodyDecoder)
        case failed
    }

    private var state: State = .idle
    private let limits: HTTPParserLimits
    /// Common fields' values from the last head, reused when the next repeats them. Kept from
    /// a connection's second response on: a backend that closes after each response (as many
    /// app servers do) would have them remembered for nothing, about 15,000 instructions each.
    private var recentValues = RecentFieldValues(remembers: false)
    /// Whether heads come without their hop-by-hop fields and Content-Length (see LeftOutFields).
    private let omitsHopByHop: Bool

    /// Backend heads may be larger than client heads; bodies are unlimited here (the store caps them).
    public static let defaultLimits = HTTPParserLimits(maxHeadSize: 64 * 1024, maxFieldCount: 200, maxBodySize: Int.max)

    /// `omitsHopByHop`: each head's field list leaves out Connection and the fields it names,
    /// Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-* and (but for the answer to a
    /// HEAD) Content-Length, what a proxy removes from a response it forwards; the head's framing
    /// and `keepAlive` still say what they said.
    public init(limits: HTTPParserLimits = Self.defaultLimits, omitsHopByHop: Bool = false) {
        self.limits = limits
        self.omitsHopByHop = omitsHopByHop
    }

    /// Arms the parser for the response to one request.
    public mutating func expectResponse(requestWasHEAD: Bool) {
        state = .head(scanned: 0, requestWasHEAD: requestWasHEAD)
    }

    /// True between `expectResponse` and the end of that response.
    public var isExpectingResponse: Bool {
        switch state {
        case .head, .body: return true
        case .idle, .failed: return false
        }
    }

    public mutating func next(from buffer: inout ByteBuffer) throws(HTTPParseError) -> Event? {
        do {
            return try step(&buffer)
        } catch {
            state = .failed
            throw error
        }
    }

    /// The connection closed: ends a close-delimited body, or reports a truncated response.
    public mutating func finishAtEOF() throws(HTTPParseError) -> Event? {
        switch state {
        case .idle: return nil
        case .body(var decoder):
            if decoder.finishAtEOF() {
                state = .idle
                return .end
            }
            state = .failed
            throw .bad("backend closed the connection before the end of the body")
        case .head:
            state = .failed
            throw .bad("backend closed the connection before a complete response head")
        case .failed:
            throw .bad("connection already failed")
        }
    }

    private mutating func step(_ buffer: inout ByteBuffer) throws(HTTPParseError) -> Event? {
        switch state {
        case .idle:
            guard buffer.readableBytes == 0 else { throw .bad("backend sent bytes without a request") }
            return nil
        case .failed:
            throw .bad("connection already failed")
        case .head(let scanned, let wasHEAD):
            let limits = self.limits
            let location = try HeadParser.locate(in: buffer, scanned: scanned, maxHeadSize: limits.maxHeadSize) {
                _, total throws(HTTPParseError) in
                if total >= limits.maxHeadSize {
                    throw .bad("backend response head larger than \(limits.maxHeadSize) bytes")
                }
            }
            guard case .complete(let length) = location else {
                if case .incomplete(let scanned) = location { state = .head(scanned: scanned, requestWasHEAD: wasHEAD) }
                return nil
            }
            var leftOut: LeftOutFields? = omitsHopByHop ? LeftOutFields() : nil
            defer { recentValues.remembers = true }
            var head = try HeadParser.take(length, from: &buffer) { raw throws(HTTPParseError) in
                try Self.head(raw, limits: limits, recent: &recentValues, leavingOut: &leftOut,
                              keepingContentLength: wasHEAD)
            }
            if head.status >= 100 && head.status < 200 {
                state = .head(scanned: 0, requestWasHEAD: wasHEAD)  // interim response: skip it
                return try step(&buffer)
            }
            if let leftOut {
                head.framing = try Self.framing(status: head.status, transferEncodings: leftOut.transferEncodings,
                                                contentLengths: leftOut.contentLengths, requestWasHEAD: wasHEAD)
                head.connectionOptions = leftOut.connection
                if let named = leftOut.namedByConnection {
                    head.fields.removeAll { field in
                        named.contains { $0.equalsIgnoringASCIICase(field.name) }
                    }
                }
            } else {
                head.framing = try Self.framing(head, requestWasHEAD: wasHEAD)
            }
            // Bodiless responses too go through .body, so the caller sees their end on the next call.
            state = .body(BodyDecoder(framing: head.framing, limits: limits))
            return .head(head)
        case .body(var decoder):
            guard let output = try decoder.next(from: &buffer) else {
                state = .body(decoder)
                return nil
            }
            switch output {
            case .data(let data):
                state = .body(decoder)
                return .body(data)
            case .end:
                state = .idle
                return .end
            }
        }
    }

    static func head(_ raw: UnsafeRawBufferPointer, limits: HTTPParserLimits,
                     recent: inout RecentFieldValues) throws(HTTPParseError) -> HTTPResponseHead {
        var none: LeftOutFields?
        return try head(raw, limits: limits, recent: &recent, leavingOut: &none, keepingContentLength: true)
    }

    static func head(_ raw: UnsafeRawBufferPointer, limits: HTTPParserLimits, recent: inout RecentFieldValues,
                     leavingOut leftOut: inout LeftOutFields?,
                     keepingContentLength: Bool) throws(HTTPParseError) -> HTTPResponseHead {
        var lines = HeadParser.Lines(raw)
        guard let statusLine = lines.next(), statusLine.count >= 12 else { throw .bad("malformed status line") }
        let version = try HeadParser.version(UnsafeRawBufferPointer(rebasing: statusLine[0..<8]))
        guard statusLine[8] == 0x20 else { throw .bad("malformed status line") }
        var status = 0
        for b in statusLine[9..<12] {
            guard b >= 0x30 && b <= 0x39 else { throw .bad("malformed status code") }
            status = status * 10 + Int(b - 0x30)
        }
        guard status >= 100 else { throw .bad("malformed status code") }
        var reason = ""
        if statusLine.count > 12 {
            guard statusLine[12] == 0x20 else { throw .bad("malformed status line") }
            let reasonBytes = statusLine[13...]
            for b in reasonBytes where (b < 0x20 && b != 0x09) || b == 0x7F {
                throw .bad("control character in reason phrase")
            }
            reason = String(decoding: UnsafeRawBufferPointer(rebasing: reasonBytes), as: UTF8.self)
        }
        let fields = try HeadParser.fields(&lines, limits: limits, recent: &recent, leavingOut: &leftOut,
                                           keepingContentLength: keepingContentLength)
        return HTTPResponseHead(version: version, status: status, reason: reason, fields: fields)
    }

    /// RFC 9112 §6.3 for responses, rejecting ambiguous framing.
    static func framing(_ head: HTTPResponseHead, requestWasHEAD: Bool) throws(HTTPParseError) -> BodyFraming {
        let found = HeadParser.FramingFields.find(in: head.fields)
        return try framing(status: head.status, transferEncodings: found.transferEncodings,
                           contentLengths: found.contentLengths, requestWasHEAD: requestWasHEAD)
    }

    static func framing(status: Int, transferEncodings te: HeadParser.FieldValues,
                        contentLengths cl: HeadParser.FieldValues,
                        requestWasHEAD: Bool) throws(HTTPParseError) -> BodyFraming {
        if !te.isEmpty && !cl.isEmpty { throw .bad("backend sent both Content-Length and Transfer-Encoding") }
        var length: Int?
        if cl.count == 1, let value = cl.first, let n = HeadParser.contentLength(value) {
            // The usual case, one plain value (stored without surrounding whitespace); a list
            // such as "10, 10" is no number and goes on below.
            length = n
        } else if !cl.isEmpty {
            // Identical repeated values are tolerated from backends (RFC 9110 §8.6); differing ones are not.
            let values = Set(cl.flatMap { $0.split(separator: ",").map { String($0.trimmingOWS()) } })
            guard values.count == 1, let n = HeadParser.contentLength(values.first!) else {
                throw .bad("backend sent an invalid or conflicting Content-Length")
            }
            length = n
        }
        var chunked = false
        if !te.isEmpty {
            let codings = te.flatMap { $0.split(separator: ",").map { $0.trimmingOWS() } }
            guard codings.last?.equalsIgnoringASCIICase("chunked") == true,
                  codings.count == 1 else {
                throw .bad("backend sent an unsupported Transfer-Encoding")
            }
            chunked = true
        }
        if requestWasHEAD || status == 204 || status == 304 { return .none }
        if chunked { return .chunked }
        if let length { return .contentLength(length) }
        return .untilClose
    }
}
