// Parser robustness: mutated and random inputs, fed in random slices, must only ever produce
// events or a thrown HTTPParseError — never a crash or a hang. Seeded, so failures reproduce.

import NIOCore
import ShellacTestSupport
import Testing
@testable import ShellacHTTP

@Suite struct ParserFuzzTests {
    static let requestSeeds = [
        "GET /a?b=c HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n0\r\nT: v\r\n\r\n",
        "PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n",
    ]
    static let responseSeeds = [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCache-Control: max-age=1\r\n\r\nhello",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.0 404 Not Found\r\nX: y\r\n\r\nbody until close",
    ]
    static let interesting: [UInt8] = Array("\r\n :;,0123456789abcdefABCDEF-/\t\u{0}\u{7f}".utf8) + [0x80, 0xFF]

    static func mutate(_ seed: String, _ rng: inout SeededGenerator) -> [UInt8] {
        var bytes = Array(seed.utf8)
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0 where !bytes.isEmpty: bytes.remove(at: position)
            case 1: bytes.insert(interesting.randomElement(using: &rng)!, at: position)
            case 2 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &rng)
            default: bytes.insert(contentsOf: bytes[position...].prefix(8), at: position)
            }
        }
        return bytes
    }

    /// Feeds `bytes` in random slices; returns how many events came out before the end or an error.
    static func feedRequest(_ bytes: [UInt8], _ rng: inout SeededGenerator) -> Int {
        var parser = HTTPRequestParser(limits: HTTPParserLimits(maxHeadSize: 512, maxFieldLineSize: 128,
                                                                maxFieldCount: 10, maxURLSize: 128, maxBodySize: 1024))
        var buffer = ByteBuffer()
        var events = 0
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + Int.random(in: 1...64, using: &rng))
            buffer.writeBytes(bytes[offset..<end])
            offset = end
            do {
                while let _ = try parser.next(from: &buffer) {
                    events += 1
                    if events > 10_000 { return events }  // no event loop without consuming input
                }
            } catch {
                return events
            }
        }
        return events
    }

    @Test func mutatedAndRandomRequestsNeverCrash() {
        var rng = SeededGenerator(state: 2026)
        var parsedSome = 0
        for round in 0..<6000 {
            let bytes: [UInt8] = round % 5 == 4
                ? (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                : Self.mutate(Self.requestSeeds[round % Self.requestSeeds.count], &rng)
            let events = Self.feedRequest(bytes, &rng)
            #expect(events < 10_000)
            if events > 0 { parsedSome += 1 }
        }
        #expect(parsedSome > 100, "the mutations keep some inputs valid, so parsing paths are exercised")
    }

    @Test func mutatedAndRandomResponsesNeverCrash() {
        var rng = SeededGenerator(state: 9111)
        for round in 0..<6000 {
            let bytes: [UInt8] = round % 5 == 4
                ? (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                : Self.mutate(Self.responseSeeds[round % Self.responseSeeds.count], &rng)
            var parser = HTTPResponseParser(limits: HTTPParserLimits(maxHeadSize: 512, maxFieldLineSize: 128,
                                                                     maxFieldCount: 10, maxBodySize: 4096))
            parser.expectResponse(requestWasHEAD: round % 7 == 0)
            var buffer = ByteBuffer(bytes: bytes)
            var events = 0
            do {
                while parser.isExpectingResponse, let _ = try parser.next(from: &buffer) {
                    events += 1
                    if events > 10_000 { break }
                }
                if parser.isExpectingResponse { _ = try parser.finishAtEOF() }
            } catch {}
            #expect(events < 10_000)
        }
    }
}

/// The head-end search finds lines with memchr; a byte-by-byte statement of the same rules checks it.
@Suite struct HeadEndSearchTests {
    /// The rules one byte at a time: an LF must follow a CR, and the head ends after CRLF CRLF
    /// (a bare CR is the line checks' to reject: `bareCarriageReturnsAreRejectedAnywhere`).
    static func reference(_ bytes: [UInt8], from: Int) -> Result<Int?, HTTPParseError> {
        var i = from
        while i < bytes.count {
            if bytes[i] == 0x0A {
                guard i > 0, bytes[i - 1] == 0x0D else { return .failure(.bad("bare LF in message head")) }
                if i >= 3, bytes[i - 2] == 0x0A, bytes[i - 3] == 0x0D { return .success(i + 1) }
            }
            i += 1
        }
        return .success(nil)
    }

    /// A CR anywhere in a head but before its LF (start line, name, value, blank line) makes the
    /// request a 400 and the response a parse error, whichever line check finds it.
    @Test func bareCarriageReturnsAreRejectedAnywhere() {
        let request = Array("GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Custom: some value\r\nAccept: */*\r\n\r\n".utf8)
        let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nServer: test\r\nX-Y: z\r\n\r\n".utf8)
        for (message, isRequest) in [(request, true), (response, false)] {
            for position in 0..<(message.count - 1) where message[position] != 0x0D && message[position + 1] != 0x0A {
                for replacing in [false, true] {
                    var bytes = message
                    if replacing { bytes[position] = 0x0D } else { bytes.insert(0x0D, at: position + 1) }
                    var buffer = ByteBuffer(bytes: bytes)
                    var rejected = false
                    var requestParser = HTTPRequestParser()
                    var responseParser = HTTPResponseParser()
                    responseParser.expectResponse(requestWasHEAD: false)
                    // A head the CR left without its end waits for more: it is rejected once it ends.
                    for more in ["", "\r\n\r\n"] {
                        buffer.writeString(more)
                        do {
                            let event = isRequest ? try requestParser.next(from: &buffer).map { _ in () }
                                : try responseParser.next(from: &buffer).map { _ in () }
                            if event != nil { break }
                        } catch {
                            rejected = true
                            break
                        }
                    }
                    #expect(rejected, "CR \(replacing ? "for" : "after") byte \(position): \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                }
            }
        }
    }

    @Test func agreesWithTheByteByByteRules() {
        var random = SeededGenerator(state: 77)
        let alphabet: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x41, 0x3A, 0x20, 0x62]
        for _ in 0..<20_000 {
            let length = Int(random.next() % 24)
            let bytes = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            let from = length == 0 ? 0 : Int(random.next() % UInt64(length + 1))
            let found = bytes.withUnsafeBytes { raw in
                Result { () throws(HTTPParseError) -> Int? in try HeadParser.findHeadEnd(raw, from: from) }
            }
            #expect(found == Self.reference(bytes, from: from), "\(bytes) from \(from)")
        }
    }
}

/// Field values are checked eight bytes at a time; a byte-by-byte statement of the rule checks it.
@Suite struct FieldValueTests {
    static func reference(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { !($0 < 0x20 && $0 != 0x09 || $0 == 0x7F) }
    }

    @Test func agreesWithTheByteByByteRule() {
        var random = SeededGenerator(state: 2611)
        let alphabet: [UInt8] = [0x00, 0x09, 0x0A, 0x1F, 0x20, 0x21, 0x41, 0x7E, 0x7F, 0x80, 0x9F, 0xFF]
        for _ in 0..<20_000 {
            let length = Int(random.next() % 40)
            // Mostly ordinary text, so that words of eight good bytes come up as well as bad ones.
            let bytes = (0..<length).map { _ in
                random.next() % 4 == 0 ? alphabet[Int(random.next() % UInt64(alphabet.count))] : UInt8(0x61)
            }
            let found = bytes.withUnsafeBytes { HeadParser.isFieldValue($0) }
            #expect(found == Self.reference(bytes), "\(bytes)")
        }
    }
}
