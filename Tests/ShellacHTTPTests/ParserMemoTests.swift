// A parser that reads many heads on one connection remembers lines, whole heads and values from
// the last (RecentFieldLines, RecentFieldValues, ParsedValueMemo). Whatever the sequence, each
// head must read exactly as a fresh parser reads it: random sequences of heads drawn from a few
// lines, changed, reordered, repeated, shortened and lengthened, checked head by head.

import NIOCore
import ShellacTestSupport
import Testing
@testable import ShellacHTTP

@Suite struct ParserMemoTests {
    static let lines = [
        "Host: example.com", "User-Agent: agent/1.0", "Accept: */*", "Accept-Encoding: gzip, br",
        "Cookie: a=1; b=2", "X-Custom: one", "x-custom: two", "Cache-Control: max-age=60",
        "Date: Sat, 28 Nov 2026 03:17:27 GMT", "Connection: keep-alive", "Connection: close",
        "Connection: X-Named, keep-alive", "X-Named: secret", "Keep-Alive: timeout=5", "Server: origin",
        "ETag: \"v1\"", "Last-Modified: Sat, 28 Nov 2026 03:00:00 GMT", "Vary: Accept-Encoding",
        "X-Long: " + String(repeating: "v", count: 140), "Proxy-Status: x", "TE: trailers",
    ]

    static func head(_ rng: inout SeededGenerator, previous: [String]) -> [String] {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return previous  // repeated whole
        case 1 where !previous.isEmpty: return Array(previous.dropLast())  // shorter
        case 2: return previous + [lines.randomElement(using: &rng)!]  // longer
        case 3 where !previous.isEmpty:  // one line changed
            var changed = previous
            changed[Int.random(in: 0..<changed.count, using: &rng)] = lines.randomElement(using: &rng)!
            return changed
        default:
            return (0..<Int.random(in: 0...8, using: &rng)).map { _ in lines.randomElement(using: &rng)! }
        }
    }

    @Test func requestsReadAsAFreshParserReadsThem() throws {
        var rng = SeededGenerator(state: 20261128)
        var kept = HTTPRequestParser()
        var previous: [String] = []
        for _ in 0..<2000 {
            let lines = Self.head(&rng, previous: previous)
            previous = lines
            let text = "GET /x HTTP/1.1\r\n" + (["Host: h"] + lines).map { $0 + "\r\n" }.joined() + "\r\n"
            var fresh = HTTPRequestParser()
            let read = try Self.request(text, &kept)
            #expect(try read == Self.request(text, &fresh), "\(lines)")
            if read.hasPrefix("error") { kept = HTTPRequestParser() }  // a connection ends at an error
        }
    }

    @Test func responsesReadAsAFreshParserReadsThem() throws {
        var rng = SeededGenerator(state: 11282026)
        for omits in [false, true] {
            var kept = HTTPResponseParser(omitsHopByHop: omits)
            var previous: [String] = []
            for _ in 0..<2000 {
                let lines = Self.head(&rng, previous: previous)
                previous = lines
                let wasHEAD = Int.random(in: 0..<4, using: &rng) == 0
                let text = "HTTP/1.1 200 OK\r\n" + (lines + ["Content-Length: 3"]).map { $0 + "\r\n" }.joined()
                    + "\r\n" + (wasHEAD ? "" : "abc")
                var fresh = HTTPResponseParser(omitsHopByHop: omits)
                let expected = Self.response(text, wasHEAD: wasHEAD, &fresh)
                let read = Self.response(text, wasHEAD: wasHEAD, &kept)
                #expect(read == expected, "\(lines) HEAD \(wasHEAD)")
                if read.contains("error") { kept = HTTPResponseParser(omitsHopByHop: omits) }
            }
        }
    }

    @Test func cacheControlAndDatesReadAsParsedAfresh() {
        var rng = SeededGenerator(state: 42)
        let values = ["max-age=60", "no-store", "max-age=60, s-maxage=5", "private", "no-cache, max-age=0",
                      "stale-while-revalidate=30", "max-age=61"]
        let dates = ["Sat, 28 Nov 2026 03:17:27 GMT", "Sat, 28 Nov 2026 03:17:28 GMT", "garbage", ""]
        for _ in 0..<500 {
            let value = values.randomElement(using: &rng)!
            #expect(CacheControl(HTTPFields([("Cache-Control", value)])) == CacheControl(parsing: [value]))
            let date = dates.randomElement(using: &rng)!
            let fields = HTTPFields([("Date", date)])
            let freshness = Freshness.compute(fields: fields, cacheControl: CacheControl(),
                                              requestTime: 1_800_000_000, responseTime: 1_800_000_000)
            let expected = HTTPDate.parse(date).map { max(0, 1_800_000_000 - $0) } ?? 0
            #expect(freshness.initialAge == expected, "\(date)")
        }
    }

    /// A request's method, target and fields, or its error.
    static func request(_ text: String, _ parser: inout HTTPRequestParser) throws -> String {
        var buffer = ByteBuffer(string: text)
        do {
            guard case .head(let head)? = try parser.next(from: &buffer) else { return "no head" }
            _ = try parser.next(from: &buffer)
            return "\(head.method) \(head.target) \(Array(head.fields)) \(head.framing) \(head.keepAlive)"
        } catch {
            return "error \(error)"
        }
    }

    /// A response's fields, framing, keep-alive and body, or its error.
    static func response(_ text: String, wasHEAD: Bool, _ parser: inout HTTPResponseParser) -> String {
        parser.expectResponse(requestWasHEAD: wasHEAD)
        var buffer = ByteBuffer(string: text)
        var out = ""
        do {
            while parser.isExpectingResponse, let event = try parser.next(from: &buffer) {
                switch event {
                case .head(let head): out += "\(Array(head.fields)) \(head.framing) \(head.keepAlive) "
                case .body(let body): out += String(buffer: body)
                case .end: out += " end"
                }
            }
        } catch {
            out += "error \(error)"
        }
        return out
    }
}
