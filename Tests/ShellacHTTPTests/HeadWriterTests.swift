// Writing head text: field lines, decimals and the mix of String, StaticString and bytes the
// response heads use, checked byte for byte; header-name comparison of two Strings.

import NIOCore
import Testing
@testable import ShellacHTTP

@Suite struct HeadWriterTests {
    @Test func writesFieldsExactlyAsBefore() {
        let fields = HTTPFields([("Content-Type", "text/plain"), ("X-Ünïcode", "värde"), ("Empty", "")])
        var buffer = ByteBuffer()
        buffer.writeHTTPFields(fields)
        #expect(String(buffer: buffer) == "Content-Type: text/plain\r\nX-Ünïcode: värde\r\nEmpty: \r\n")
    }

    @Test func piecesOfEveryLengthArriveExactlyAndInOrder() {
        // Pieces of every length from empty to past a few words, back to back.
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var expected: [UInt8] = []
        var buffer = ByteBuffer()
        buffer.writeHead(capacity: 1_000) { head in
            for length in 0...36 {
                let piece = Array(alphabet[0..<length].reversed())
                piece.withUnsafeBytes { head.append(bytes: $0) }
                expected += piece
                head.append(UInt8(ascii: "|"))
                expected.append(UInt8(ascii: "|"))
            }
        }
        #expect(Array(buffer.readableBytesView) == expected)
    }

    @Test func writesDecimalsAndMixedPieces() {
        var buffer = ByteBuffer(string: "prefix|")
        let long = String(repeating: "v", count: 40)  // a heap-allocated String, not a small one
        buffer.writeHead(capacity: 200) { head in
            head.append("Age: ")
            head.append(decimal: 0)
            head.append(UInt8(ascii: " "))
            head.append(decimal: 1234567890)
            head.append(UInt8(ascii: " "))
            head.append(decimal: Int.max)
            head.append(UInt8(ascii: " "))
            head.append(decimal: Int.min)
            head.append(UInt8(ascii: " "))
            head.append(decimal: -7)
            head.append(UInt8(ascii: " "))
            head.append(long)
            head.append(HTTPField(name: "A", value: "b"))
        }
        #expect(String(buffer: buffer) == "prefix|Age: 0 1234567890 \(Int.max) \(Int.min) -7 \(long)A: b\r\n")
        #expect(String(Int.min).utf8.count <= HeadWriter.maxDecimalLength)
        // Every digit count, at both ends.
        var numbers: [Int] = [1, 9]
        var power = 10
        while power <= Int.max / 10 {
            numbers += [power - 1, power, power + 1, -power, -(power - 1)]
            power *= 10
        }
        for number in numbers {
            var out = ByteBuffer()
            out.writeHead(capacity: HeadWriter.maxDecimalLength) { $0.append(decimal: number) }
            #expect(String(buffer: out) == String(number))
        }
    }

    @Test func writesARequestHeadForABackend() {
        for fields in [HTTPFields(), HTTPFields([("Host", "example.com"), ("X-Forwarded-For", "127.0.0.1")])] {
            let head = HTTPRequestHead(method: "GET", target: "/a?b=c", version: .http1_0, fields: fields, framing: .none)
            var buffer = ByteBuffer()
            buffer.writeRequestHead(head)
            let lines = fields.map { "\($0.name): \($0.value)\r\n" }.joined()
            #expect(String(buffer: buffer) == "GET /a?b=c HTTP/1.1\r\n" + lines + "\r\n")
        }
    }

    @Test func comparesHeaderNamesIgnoringASCIICaseOnly() {
        #expect("Content-Length".equalsIgnoringASCIICase("content-LENGTH"))
        #expect(!"Content-Length".equalsIgnoringASCIICase("Content-Lengt"))
        #expect(!"@".equalsIgnoringASCIICase("`"))  // 0x40 and 0x60 differ only in the case bit
        #expect("Ä-long-header-name-past-fifteen-bytes".equalsIgnoringASCIICase("ä-LONG-header-name-past-fifteen-bytes") == false)
        #expect("x-long-header-name-past-fifteen-bytes".equalsIgnoringASCIICase("X-LONG-HEADER-NAME-PAST-FIFTEEN-BYTES"))
    }
}

@Suite struct HeadLinesTests {
    /// Places from the status line's -1, whole lines with their ends, names before the colon,
    /// values past the spaces after it; a line without a colon has no value, and a last line
    /// without its end is still a line.
    @Test func linesAreWalkedWithTheirPlacesNamesAndValues() {
        let block = "HTTP/1.1 200 OK\r\nServer:  nginx\r\nX-Empty:\r\nno colon\r\nLast: end"
        var seen: [String] = []
        Array(block.utf8).withUnsafeBytes { bytes in
            HeadLines.forEach(in: bytes) { line in
                let text = { (b: UnsafeRawBufferPointer) in String(decoding: b, as: UTF8.self) }
                seen.append("\(line.place)|\(text(line.bytes))|\(text(line.name))|\(line.value.map(text) ?? "-")")
                return line.place < 2
            }
        }
        #expect(seen == ["-1|HTTP/1.1 200 OK\r\n||-", "0|Server:  nginx\r\n|Server|nginx", "1|X-Empty:\r\n|X-Empty|",
                         "2|no colon\r\n||-"])
        var last: [String] = []
        Array("A: 1\r\nLast: end".utf8).withUnsafeBytes { bytes in
            HeadLines.forEach(in: bytes, firstPlace: 0) { line in
                last.append("\(line.place)|\(String(decoding: line.value!, as: UTF8.self))")
                return true
            }
        }
        #expect(last == ["0|1", "1|end"])
    }
}
