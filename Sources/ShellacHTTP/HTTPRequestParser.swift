// HTTPRequestParser: the strict HTTP/1.1 request parser for client connections.
// Fed a cumulation buffer, it returns one event at a time (head, body piece, end). Once it has
// thrown, it stays failed: bytes after a rejected request are never parsed as a new request.

#if canImport(Glibc)
import Glibc
#endif
import NIOCore

public struct HTTPRequestParser {
    public enum Event: Equatable {
        case head(HTTPRequestHead)
        case body(ByteBuffer)
        case end
    }

    private enum State {
        case head(scanned: Int)
        case body(BodyDecoder)
        case failed
    }

    private var state: State = .head(scanned: 0)
    public let limits: HTTPParserLimits
    /// Common fields' values from the last head, reused when the next repeats them. Kept from
    /// a connection's second request on: many connections send one request, and remembering its
    /// lines (about 5,000 instructions and the memory they take) would be for nothing.
    private var recentValues = RecentFieldValues(remembers: false)

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// True while part of a request head has arrived but not all of it (for the head timeout).
    public func isMidHead(buffered: Int) -> Bool {
        if case .head = state { return buffered > 0 }
        return false
    }

    /// True while a request body is being received (for the body idle timeout).
    public var isInBody: Bool {
        if case .body = state { return true }
        return false
    }

    /// The bytes of the current body still to come when its length was announced; nil for a
    /// chunked body, or between requests.
    public var bodyBytesLeft: Int? {
        if case .body(let decoder) = state { return decoder.bytesLeft }
        return nil
    }

    /// The next event parsed from `buffer`, or nil when more bytes are needed.
    public mutating func next(from buffer: inout ByteBuffer) throws(HTTPParseError) -> Event? {
        do {
            return try step(&buffer)
        } catch {
            state = .failed
            throw error
        }
    }

    private mutating func step(_ buffer: inout ByteBuffer) throws(HTTPParseError) -> Event? {
        switch state {
        case .failed:
            throw .bad("connection already failed")
        case .head(let scanned):
            // RFC 9112 §2.2: ignore empty lines before the request line.
            while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A {
                buffer.moveReaderIndex(forwardBy: 2)
            }
            guard let head = try parseHead(&buffer, scanned: scanned) else { return nil }
            let decoder = BodyDecoder(framing: head.framing, limits: limits)
            state = decoder.isDone ? .head(scanned: 0) : .body(decoder)
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
                state = .head(scanned: 0)
                return .end
            }
        }
    }

    private mutating func parseHead(_ buffer: inout ByteBuffer,
                                    scanned: Int) throws(HTTPParseError) -> HTTPRequestHead? {
        let limits = self.limits
        let location = try HeadParser.locate(in: buffer, scanned: scanned, maxHeadSize: limits.maxHeadSize) {
            window, total throws(HTTPParseError) in
            // The request line alone is too long: 414 when the target is what overflows.
            let lineEnd = window.firstIndex(of: HeadParser.lf) ?? window.count
            if lineEnd > limits.maxURLSize + 32 {
                let firstSpace = window.firstIndex(of: 0x20) ?? 0
                let secondSpace = window[(firstSpace + 1)...].firstIndex(of: 0x20) ?? lineEnd
                if secondSpace - firstSpace - 1 > limits.maxURLSize {
                    throw HTTPParseError(status: 414, "request target longer than \(limits.maxURLSize) bytes")
                }
            }
            if total >= limits.maxHeadSize {
                throw HTTPParseError(status: 431, "request head larger than \(limits.maxHeadSize) bytes")
            }
        }
        switch location {
        case .incomplete(let scanned):
            state = .head(scanned: scanned)
            return nil
        case .complete(let length):
            defer { recentValues.remembers = true }
            return try HeadParser.take(length, from: &buffer) { raw throws(HTTPParseError) in
                try Self.head(raw, limits: limits, recent: &recentValues)
            }
        }
    }

    static func head(_ raw: UnsafeRawBufferPointer, limits: HTTPParserLimits,
                     recent: inout RecentFieldValues) throws(HTTPParseError) -> HTTPRequestHead {
        var lines = HeadParser.Lines(raw)
        guard let requestLine = lines.next() else { throw .bad("empty request") }
        // method SP request-target SP HTTP-version: exactly two spaces.
        guard let firstSpace = Self.space(in: requestLine, from: 0),
              let secondSpace = Self.space(in: requestLine, from: firstSpace + 1),
              Self.space(in: requestLine, from: secondSpace + 1) == nil else {
            throw .bad("malformed request line")
        }
        let methodBytes = requestLine[..<firstSpace], targetBytes = requestLine[(firstSpace + 1)..<secondSpace]
        let versionBytes = requestLine[(secondSpace + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(HeadParser.isTokenByte) else {
            throw .bad("invalid method")
        }
        guard targetBytes.count <= limits.maxURLSize else {
            throw HTTPParseError(status: 414, "request target longer than \(limits.maxURLSize) bytes")
        }
        guard !targetBytes.isEmpty, Self.isVisibleASCII(UnsafeRawBufferPointer(rebasing: targetBytes)) else {
            throw .bad("invalid request target")
        }
        let version = try HeadParser.version(UnsafeRawBufferPointer(rebasing: versionBytes))
        let method = Self.method(UnsafeRawBufferPointer(rebasing: methodBytes))
        let target = String(decoding: UnsafeRawBufferPointer(rebasing: targetBytes), as: UTF8.self)
        guard targetBytes.first == UInt8(ascii: "/") || target == "*" || target.hasPrefixIgnoringASCIICase("http://")
            || target.hasPrefixIgnoringASCIICase("https://") || method == "CONNECT" else {
            throw .bad("invalid request target")
        }
        let fields = try HeadParser.fields(&lines, limits: limits, recent: &recent)
        // One pass for the fields that frame and route the request.
        let found = HeadParser.FramingFields.find(in: fields)
        if version == .http1_1 && found.hosts != 1 {
            throw .bad(found.hosts == 0 ? "HTTP/1.1 request without Host" : "more than one Host header")
        }
        if found.hosts > 1 { throw .bad("more than one Host header") }
        if let host = found.firstHost, !HostValidation.isValid(host) { throw .bad("invalid Host header") }
        let framing = try requestFraming(transferEncodings: found.transferEncodings,
                                         contentLengths: found.contentLengths, version: version, limits: limits)
        return HTTPRequestHead(method: method, target: target, version: version, fields: fields, framing: framing)
    }

    /// The first space at or after `start` (memchr: request lines are mostly URL).
    private static func space(in line: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = line.baseAddress, start < line.count,
              let found = memchr(base + start, 0x20, line.count - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// Every byte is a visible ASCII character (a request target's). Eight bytes at a time: a
    /// word that may hold a byte below 0x21 or of 0x7F and up is looked at byte by byte.
    static func isVisibleASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let below = (word &- ones &* 0x21) & ~word
            let above = (word &+ ones) | word
            if (below | above) & highBits != 0 {
                for offset in index..<(index + 8) where !isVisibleByte(bytes[offset]) { return false }
            }
            index += 8
        }
        while index < bytes.count {
            if !isVisibleByte(bytes[index]) { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    private static func isVisibleByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F
    }

    /// The method as a String; the common ones are literals, so their bytes need no decoding.
    private static func method(_ bytes: UnsafeRawBufferPointer) -> String {
        switch bytes.count {
        case 3:
            if equals(bytes, "GET") { return "GET" }
            if equals(bytes, "PUT") { return "PUT" }
        case 4:
            if equals(bytes, "HEAD") { return "HEAD" }
            if equals(bytes, "POST") { return "POST" }
        case 5:
            if equals(bytes, "PURGE") { return "PURGE" }
        default:
            break
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always)
    private static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        memcmp(bytes.baseAddress!, text.utf8Start, text.utf8CodeUnitCount) == 0
    }

    /// RFC 9112 §6.3 for requests, with every ambiguity rejected rather than resolved.
    static func requestFraming(transferEncodings te: HeadParser.FieldValues, contentLengths cl: HeadParser.FieldValues,
                               version: HTTPVersion, limits: HTTPParserLimits) throws(HTTPParseError) -> BodyFraming {
        if !te.isEmpty {
            guard cl.isEmpty else { throw .bad("both Content-Length and Transfer-Encoding") }
            guard version == .http1_1 else { throw .bad("Transfer-Encoding in an HTTP/1.0 request") }
            guard te.count == 1, te.first?.equalsIgnoringASCIICase("chunked") == true else {
                throw HTTPParseError(status: 501, "Transfer-Encoding other than chunked")
            }
            return .chunked
        }
        guard !cl.isEmpty else { return .none }
        guard cl.count == 1, let value = cl.first else { throw .bad("several Content-Length headers") }
        guard let length = HeadParser.contentLength(value) else { throw .bad("invalid Content-Length") }
        guard length <= limits.maxBodySize else {
            throw HTTPParseError(status: 413, "body larger than \(limits.maxBodySize) bytes")
        }
        return .contentLength(length)
    }
}

/// Host header syntax (RFC 9110 §7.2: uri-host [ ":" port ]).
enum HostValidation {
    static func isValid(_ host: String) -> Bool {
        host.withUTF8Bytes(isValid)
    }

    private static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        var i = 0
        if bytes[0] == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
            for b in bytes[1..<close] where !(isHex(b) || b == UInt8(ascii: ":") || b == UInt8(ascii: ".")) {
                return false
            }
            i = close + 1
        } else {
            while i < bytes.count, bytes[i] != UInt8(ascii: ":") {
                guard isRegNameByte(bytes[i]) else { return false }
                i += 1
            }
            guard i > 0 else { return false }
        }
        if i == bytes.count { return true }
        guard bytes[i] == UInt8(ascii: ":") else { return false }
        let port = bytes[(i + 1)...]
        return port.count <= 5 && port.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }

    /// unreserved / pct-encoded / sub-delims (RFC 3986 §3.2.2).
    private static func isRegNameByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"),
             UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
             UInt8(ascii: "="):
            return true
        default: return false
        }
    }
}
