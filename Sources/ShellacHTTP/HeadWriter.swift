// HeadWriter: writes message-head text into a ByteBuffer in one go: the space is reserved once
// and every piece is copied straight in, instead of one NIO writeString per piece (about a
// hundred instructions each, which added up to thousands for a head of ten fields).

import NIOCore

/// Head text being copied into space reserved by `ByteBuffer.writeHead(capacity:_:)`. Writing
/// past the reserved capacity traps: the capacity is a promise the caller computes.
/// The small pieces (literals, bytes, copies) are inlinable: most callers are in other modules
/// (the response heads), and a call for each literal cost about fifty instructions.
public struct HeadWriter {
    @usableFromInline let out: UnsafeMutableRawBufferPointer
    @usableFromInline var count = 0

    /// How many bytes have been written.
    public var written: Int { count }

    /// Writes into `out`, which the caller keeps alive and owns exclusively while writing.
    public init(_ out: UnsafeMutableRawBufferPointer) {
        self.out = out
    }

    /// Raw bytes as they are (a stored body).
    public mutating func append(bytes: UnsafeRawBufferPointer) {
        copy(bytes)
    }

    /// Disfavoured, so that a literal argument takes the StaticString overload (copied straight
    /// from the binary) rather than becoming a String first.
    @_disfavoredOverload
    public mutating func append(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ copy(UnsafeRawBufferPointer($0)) }) == nil {
            for byte in text.utf8 { append(byte) }  // not contiguous: byte by byte
        }
    }

    /// Inlined where the literal is known, so its few bytes are stored directly rather than
    /// through a memcpy call each.
    @inlinable @inline(__always)
    public mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { copy(UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public mutating func append(_ byte: UInt8) {
        precondition(count < out.count, "head text longer than reserved")
        out[count] = byte
        count += 1
    }

    /// A decimal number, with a minus sign when negative. The digits are counted first and then
    /// written backwards in place (through a scratch buffer and a copy, a Content-Length cost
    /// about 150 instructions).
    public mutating func append(decimal number: Int) {
        if number < 0 { append(UInt8(ascii: "-")) }
        var value = number.magnitude
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        precondition(digits <= out.count - count, "head text longer than reserved")
        var index = count + digits
        repeat {
            index -= 1
            out[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        } while value > 0
        count += digits
    }

    /// `name: value` CRLF.
    public mutating func append(_ field: HTTPField) {
        append(field.name)
        appendPair(UInt8(ascii: ":"), UInt8(ascii: " "))
        append(field.value)
        appendPair(UInt8(ascii: "\r"), UInt8(ascii: "\n"))
    }

    /// Every field line of a list. The fields are read in place: a `for` loop over the list
    /// copied each field (two Strings retained and released) for a line of text.
    public mutating func append(_ fields: HTTPFields) {
        fields.fields.withUnsafeBufferPointer { buffer in
            for index in buffer.indices { append(buffer[index]) }
        }
    }

    /// Two bytes stored directly: a field line's ": " and CRLF cost less than a copy each.
    private mutating func appendPair(_ first: UInt8, _ second: UInt8) {
        precondition(out.count - count >= 2, "head text longer than reserved")
        out[count] = first
        out[count + 1] = second
        count += 2
    }

    /// Most pieces are a field's name or value, a few to sixteen bytes: those are copied as two
    /// overlapping words (first and last), which costs less than a call to memcpy.
    @inlinable @inline(__always)
    mutating func copy(_ bytes: UnsafeRawBufferPointer) {
        let length = bytes.count
        precondition(length <= out.count - count, "head text longer than reserved")
        guard let source = bytes.baseAddress, let target = out.baseAddress else { return }
        let to = target + count
        if length >= 8 && length <= 16 {
            to.storeBytes(of: source.loadUnaligned(as: UInt64.self), as: UInt64.self)
            to.storeBytes(of: source.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self),
                          toByteOffset: length - 8, as: UInt64.self)
        } else if length >= 4 && length < 8 {
            to.storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
            to.storeBytes(of: source.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self),
                          toByteOffset: length - 4, as: UInt32.self)
        } else {
            to.copyMemory(from: source, byteCount: length)
        }
        count += length
    }

    /// The bytes `append(decimal:)` may write at most (a sign and 19 digits).
    public static let maxDecimalLength = 20

    /// The bytes `append(field)` writes.
    public static func length(of field: HTTPField) -> Int {
        field.name.utf8.count + field.value.utf8.count + 4
    }

    /// The bytes `append(fields)` writes.
    public static func length(of fields: HTTPFields) -> Int {
        fields.fields.withUnsafeBufferPointer { buffer in
            var total = 0
            for index in buffer.indices { total += length(of: buffer[index]) }
            return total
        }
    }
}

extension ByteBuffer {
    /// Reserves `capacity` bytes and lets `body` write head text into them (no more than that).
    public mutating func writeHead(capacity: Int, _ body: (inout HeadWriter) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { out in
            var writer = HeadWriter(UnsafeMutableRawBufferPointer(rebasing: out[0..<capacity]))
            body(&writer)
            return writer.written
        }
    }
}

/// Fields a backend request is written with after its field list, which leaves them out (so the
/// client's list is not copied to add them): X-Forwarded-For, X-Varnish and, for a fetch for the
/// cache under http_gzip_support, Accept-Encoding: gzip.
public struct LeftOutForwarding: Sendable, Equatable {
    public var forwardedFor: String
    public var requestID: String
    public var acceptGzip: Bool

    public init(forwardedFor: String, requestID: String, acceptGzip: Bool = false) {
        self.forwardedFor = forwardedFor
        self.requestID = requestID
        self.acceptGzip = acceptGzip
    }
}

extension ByteBuffer {
    /// A request head as sent to a backend: `METHOD target HTTP/1.1`, the fields, a blank line.
    /// `forwarding`: fields written after the list, which leaves them out.
    public mutating func writeRequestHead(_ head: HTTPRequestHead, forwarding: LeftOutForwarding? = nil) {
        var capacity = head.method.utf8.count + head.target.utf8.count + 14  // " " + " HTTP/1.1\r\n" + "\r\n"
            + HeadWriter.length(of: head.fields)
        if let forwarding {  // "X-Forwarded-For: " + "\r\n" + "X-Varnish: " + "\r\n" [+ "Accept-Encoding: gzip\r\n"]
            capacity += 32 + forwarding.forwardedFor.utf8.count + forwarding.requestID.utf8.count
                + (forwarding.acceptGzip ? 23 : 0)
        }
        writeHead(capacity: capacity) { writer in
            writer.append(head.method)
            writer.append(UInt8(ascii: " "))
            writer.append(head.target)
            writer.append(" HTTP/1.1\r\n")
            writer.append(head.fields)
            if let forwarding {
                writer.append("X-Forwarded-For: ")
                writer.append(forwarding.forwardedFor)
                writer.append("\r\nX-Varnish: ")
                writer.append(forwarding.requestID)
                writer.append("\r\n")
                if forwarding.acceptGzip { writer.append("Accept-Encoding: gzip\r\n") }
            }
            writer.append("\r\n")
        }
    }
}
