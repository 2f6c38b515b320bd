// BodyDecoder: cuts a message body out of the byte stream by its framing: a fixed length,
// chunked transfer coding (RFC 9112 §7.1, strict chunk-size lines, trailers discarded), or
// until the connection closes. Hands out slices of the input buffer; copies nothing.

import NIOCore

struct BodyDecoder {
    enum Output {
        case data(ByteBuffer)
        case end
    }

    private enum State {
        case length(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(count: Int)
        case untilClose
        case done
    }

    private var state: State
    private var received = 0
    private let maxBodySize: Int
    private let maxLineSize: Int
    private let maxTrailerCount: Int

    init(framing: BodyFraming, limits: HTTPParserLimits) {
        switch framing {
        case .none: state = .done
        case .contentLength(let n): state = n == 0 ? .done : .length(remaining: n)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
        maxBodySize = limits.maxBodySize
        maxLineSize = limits.maxFieldLineSize
        maxTrailerCount = limits.maxFieldCount
    }

    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// What remains of a body of announced length; nil when the framing does not say.
    var bytesLeft: Int? {
        switch state {
        case .length(let remaining): return remaining
        case .done: return 0
        default: return nil
        }
    }

    /// The next piece of body from `buffer`, `.end` when the body is complete, or nil for more input.
    mutating func next(from buffer: inout ByteBuffer) throws(HTTPParseError) -> Output? {
        while true {
            switch state {
            case .done:
                return .end
            case .length(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let n = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: n)!
                state = remaining == n ? .done : .length(remaining: remaining - n)
                return .data(slice)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                try count(buffer.readableBytes)
                return .data(buffer.readSlice(length: buffer.readableBytes)!)
            case .chunkSize:
                guard let line = try readLine(&buffer) else { return nil }
                let size = try Self.chunkSize(line)
                if size == 0 {
                    state = .trailers(count: 0)
                } else {
                    try count(size)
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let n = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: n)!
                state = remaining == n ? .chunkDataEnd : .chunkData(remaining: remaining - n)
                return .data(slice)
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                    throw .bad("chunk data not followed by CRLF")
                }
                state = .chunkSize
            case .trailers(let count):
                guard let line = try readLine(&buffer) else { return nil }
                if line.isEmpty {
                    state = .done
                    return .end
                }
                guard count < maxTrailerCount else { throw HTTPParseError(status: 431, "too many trailer fields") }
                if let error = line.withUnsafeBytes({ raw in Result { () throws(HTTPParseError) in
                    try HeadParser.field(raw)
                } }).failure {
                    throw error
                }
                state = .trailers(count: count + 1)
            }
        }
    }

    /// Marks the end of input: a close-delimited body ends cleanly; any other unfinished body is truncated.
    mutating func finishAtEOF() -> Bool {
        switch state {
        case .untilClose, .done:
            state = .done
            return true
        default:
            return false
        }
    }

    private mutating func count(_ n: Int) throws(HTTPParseError) {
        received += n
        guard received <= maxBodySize else {
            throw HTTPParseError(status: 413, "body larger than \(maxBodySize) bytes")
        }
    }

    /// Reads one CRLF-terminated line (without CRLF), or nil if it has not fully arrived.
    private func readLine(_ buffer: inout ByteBuffer) throws(HTTPParseError) -> [UInt8]? {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: 0x0A) else {
            if view.count > maxLineSize { throw .bad("chunk-size or trailer line too long") }
            return nil
        }
        let length = lf - view.startIndex
        guard length >= 1, view[lf - 1] == 0x0D else { throw .bad("bare LF in chunked body") }
        guard length <= maxLineSize else { throw .bad("chunk-size or trailer line too long") }
        let bytes = buffer.readBytes(length: length - 1)!
        buffer.moveReaderIndex(forwardBy: 2)
        if bytes.contains(0x0D) { throw .bad("bare CR in chunked body") }
        return bytes
    }

    /// chunk-size [ chunk-ext ]: 1*HEXDIG, then optional `;ext` after optional whitespace.
    static func chunkSize(_ line: [UInt8]) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        var i = 0
        while i < line.count, let v = hexValue(line[i]) {
            guard digits < 15 else { throw .bad("chunk size too large") }
            size = size * 16 + v
            digits += 1
            i += 1
        }
        guard digits > 0 else { throw .bad("invalid chunk size") }
        while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        if i < line.count {
            guard line[i] == UInt8(ascii: ";") else { throw .bad("invalid chunk size") }
            for b in line[i...] where (b < 0x20 && b != 0x09) || b == 0x7F {
                throw .bad("control character in chunk extension")
            }
        }
        return size
    }

    static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30)
        case 0x41...0x46: return Int(b - 0x41 + 10)
        case 0x61...0x66: return Int(b - 0x61 + 10)
        default: return nil
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
