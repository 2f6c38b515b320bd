// ResponseHead: serialises the heads Shellac writes to clients. A hit reuses the stored object's
// pre-serialised block (less the lines of fields vcl_deliver unset) and appends only the
// per-response fields; streamed and synthetic responses are built whole. Framing is always ours: Content-Length, chunked, or close.

import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore

enum ResponseFraming {
    case none
    case contentLength(Int)
    case chunked
    case close
}

enum ResponseHead {
    /// A hit's head: the stored head block as it is, Content-Length, any fields vcl_deliver added, Age,
    /// request id, Cache-Status, Connection and the blank line. One buffer, so a hit is two
    /// writes (head, shared body) rather than three: copying a few hundred head bytes costs less
    /// than a trip through the channel pipeline.
    /// Written into `buffer`, emptied first: the caller passes one it reuses (a buffer the
    /// channel still holds for an unfinished write is copied, not overwritten).
    static func hitHead(into buffer: inout ByteBuffer, stored: ByteBuffer, contentLength: Int?,
                        added: AddedFields = AddedFields(), removing removed: FieldLines = FieldLines(),
                        age: Int, requestID: String, cacheStatus: CacheStatus,
                        omitting omitted: AutomaticFields = [], keepAlive: Bool, http10KeepAlive: Bool) {
        let capacity = stored.readableBytes + 18 + HeadWriter.maxDecimalLength
            + added.lines.utf8.count
            + perResponseLength(requestID: requestID, cacheStatus: cacheStatus)
        buffer.clear()
        buffer.writeHead(capacity: capacity) { head in
            stored.withUnsafeReadableBytes { bytes in
                if removed.isEmpty {
                    head.append(bytes: bytes)
                } else {
                    appendLines(of: bytes, removing: removed, to: &head)
                }
            }
            if let contentLength {
                head.append("Content-Length: ")
                head.append(decimal: contentLength)
                head.append("\r\n")
            }
            head.append(added.lines)
            writePerResponse(&head, age: age, requestID: requestID, cacheStatus: cacheStatus, omitting: omitted,
                             keepAlive: keepAlive, http10KeepAlive: http10KeepAlive)
        }
    }

    /// A stored head block (status line, then field lines, each ending in CRLF) without the
    /// removed field lines.
    private static func appendLines(of block: UnsafeRawBufferPointer, removing removed: FieldLines,
                                    to head: inout HeadWriter) {
        HeadLines.forEach(in: block) { line in
            if !removed.contains(line: line.place) { head.append(bytes: line.bytes) }
            return true
        }
    }

    /// Whether a field name (its bytes) is one a 304 leaves out: those that describe a body it
    /// does not carry (RFC 9110 §15.4.5). Told apart by length first: most names are passed
    /// without a comparison.
    static func isRepresentationMetadata(_ name: UnsafeRawBufferPointer) -> Bool {
        switch name.count {
        case 12: return spells("content-type", name)
        case 13: return spells("content-range", name)
        case 14: return spells("content-length", name)
        case 16: return spells("content-encoding", name) || spells("content-language", name)
        case 17: return spells("transfer-encoding", name)
        default: return false
        }
    }

    /// Whether `name` is `known` (lower case, of the same length) in any case.
    private static func spells(_ known: StaticString, _ name: UnsafeRawBufferPointer) -> Bool {
        let bytes = UnsafeRawBufferPointer(start: known.utf8Start, count: known.utf8CodeUnitCount)
        return !zip(bytes, name).contains { $0 != $1 | 0x20 }
    }

    /// A 206 for a hit, written from the stored head block as `hitHead` writes a 200 (reading the
    /// stored head back into a field list cost a ranged hit, a video's or a PDF's, twice a hit):
    /// the stored lines less those vcl_deliver removed, its additions, then Content-Range (any
    /// other in the head is replaced) and Content-Length for `range` of a `length`-byte body.
    static func partialHit(into buffer: inout ByteBuffer, stored: ByteBuffer, added: AddedFields,
                           removing removed: FieldLines, range: ClosedRange<Int>, length: Int, age: Int,
                           requestID: String, cacheStatus: CacheStatus, omitting omitted: AutomaticFields,
                           keepAlive: Bool, http10KeepAlive: Bool) {
        let capacity = stored.readableBytes + 64 + 3 * HeadWriter.maxDecimalLength + added.lines.utf8.count
            + perResponseLength(requestID: requestID, cacheStatus: cacheStatus)
        buffer.clear()
        buffer.writeHead(capacity: capacity) { head in
            head.append("HTTP/1.1 206 Partial Content\r\n")
            appendFieldLines(of: stored, added: added, removing: removed, to: &head) { name in
                name.count == 13 && spells("content-range", name)
            }
            head.append("Content-Range: bytes ")
            head.append(decimal: range.lowerBound)
            head.append(UInt8(ascii: "-"))
            head.append(decimal: range.upperBound)
            head.append(UInt8(ascii: "/"))
            head.append(decimal: length)
            head.append("\r\nContent-Length: ")
            head.append(decimal: range.count)
            head.append("\r\n")
            writePerResponse(&head, age: age, requestID: requestID, cacheStatus: cacheStatus, omitting: omitted,
                             keepAlive: keepAlive, http10KeepAlive: http10KeepAlive)
        }
    }

    /// A 304 for a stored object or fetched head: its fields but those describing the body.
    static func notModified(fields: HTTPFields, age: Int, requestID: String, cacheStatus: CacheStatus,
                            omitting omitted: AutomaticFields = [], keepAlive: Bool, http10KeepAlive: Bool,
                            allocator: ByteBufferAllocator) -> ByteBuffer {
        // Everything but the representation's own metadata, so what vcl_deliver added (X-Cache,
        // CORS fields) is there as on a 200, as Varnish and nginx send it.
        var kept = fields
        kept.removeAll { field in
            var name = field.name
            return name.withUTF8 { isRepresentationMetadata(UnsafeRawBufferPointer($0)) }
        }
        return full(status: 304, reason: "Not Modified", fields: kept, age: age, requestID: requestID,
                    cacheStatus: cacheStatus, omitting: omitted, framing: .none, keepAlive: keepAlive,
                    http10KeepAlive: http10KeepAlive, allocator: allocator)
    }

    /// The same for a hit, written from the stored head block (less the lines vcl_deliver
    /// removed and those a 304 leaves out) and the lines it added, as `hitHead` writes a 200: a
    /// browser revalidating its copy is as common as a hit, and reading the stored head back
    /// into a field list to write it again cost as much as the hit itself.
    static func notModifiedHit(into buffer: inout ByteBuffer, stored: ByteBuffer, added: AddedFields,
                               removing removed: FieldLines, age: Int, requestID: String,
                               cacheStatus: CacheStatus, omitting omitted: AutomaticFields,
                               keepAlive: Bool, http10KeepAlive: Bool) {
        let capacity = stored.readableBytes + 32 + added.lines.utf8.count
            + perResponseLength(requestID: requestID, cacheStatus: cacheStatus)
        buffer.clear()
        buffer.writeHead(capacity: capacity) { head in
            head.append("HTTP/1.1 304 Not Modified\r\n")
            appendFieldLines(of: stored, added: added, removing: removed, to: &head, leavingOut: isRepresentationMetadata)
            writePerResponse(&head, age: age, requestID: requestID, cacheStatus: cacheStatus, omitting: omitted,
                             keepAlive: keepAlive, http10KeepAlive: http10KeepAlive)
        }
    }

    /// A stored head block's field lines (not its status line) less those vcl_deliver removed,
    /// then the lines it added, each but those whose name `leftOut` picks.
    private static func appendFieldLines(of stored: ByteBuffer, added: AddedFields, removing removed: FieldLines,
                                         to head: inout HeadWriter,
                                         leavingOut leftOut: (UnsafeRawBufferPointer) -> Bool) {
        stored.withUnsafeReadableBytes { bytes in
            HeadLines.forEach(in: bytes) { line in
                if line.place >= 0, !removed.contains(line: line.place), !leftOut(line.name) {
                    head.append(bytes: line.bytes)
                }
                return true
            }
        }
        var lines = added.lines
        lines.withUTF8 { bytes in
            HeadLines.forEach(in: UnsafeRawBufferPointer(bytes), firstPlace: 0) { line in
                if !leftOut(line.name) { head.append(bytes: line.bytes) }
                return true
            }
        }
    }


    static func full(status: Int, reason: String, fields: HTTPFields, age: Int?, requestID: String,
                     cacheStatus: CacheStatus?, omitting omitted: AutomaticFields = [], framing: ResponseFraming,
                     keepAlive: Bool, http10KeepAlive: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 0)
        full(into: &buffer, status: status, reason: reason, fields: fields, age: age, requestID: requestID,
             cacheStatus: cacheStatus, omitting: omitted, framing: framing, keepAlive: keepAlive,
             http10KeepAlive: http10KeepAlive)
        return buffer
    }

    /// The same, written into `buffer` (emptied first), as `hitHead(into:)` does, with room for
    /// `bodyRoom` more bytes after the head.
    static func full(into buffer: inout ByteBuffer, status: Int, reason: String, fields: HTTPFields, age: Int?,
                     requestID: String, cacheStatus: CacheStatus?, omitting omitted: AutomaticFields = [],
                     framing: ResponseFraming, keepAlive: Bool, http10KeepAlive: Bool, bodyRoom: Int = 0) {
        let capacity = 16 + HeadWriter.maxDecimalLength + reason.utf8.count
            + HeadWriter.length(of: fields) + 48 + HeadWriter.maxDecimalLength
            + perResponseLength(requestID: requestID, cacheStatus: cacheStatus)
        buffer.clear()
        if bodyRoom > 0 { buffer.reserveCapacity(minimumWritableBytes: capacity + bodyRoom) }
        buffer.writeHead(capacity: capacity) { head in
            head.append("HTTP/1.1 ")
            head.append(decimal: status)
            head.append(UInt8(ascii: " "))
            head.append(reason)
            head.append("\r\n")
            head.append(fields)
            switch framing {
            case .contentLength(let length):
                head.append("Content-Length: ")
                head.append(decimal: length)
                head.append("\r\n")
            case .chunked: head.append("Transfer-Encoding: chunked\r\n")
            case .none, .close: break
            }
            writePerResponse(&head, age: age, requestID: requestID, cacheStatus: cacheStatus, omitting: omitted,
                             keepAlive: keepAlive, http10KeepAlive: http10KeepAlive)
        }
    }

    /// The bytes `writePerResponse` writes at most.
    private static func perResponseLength(requestID: String, cacheStatus: CacheStatus?) -> Int {
        128 + HeadWriter.maxDecimalLength + requestID.utf8.count + (cacheStatus?.maxLength ?? 0)
    }

    /// Age and Via (on a response delivered from a fetch or a stored object: one with an age),
    /// X-Varnish, Cache-Status (those VCL did not unset or set itself) and Connection as this
    /// response needs them, and the blank line. Inlined: its literals are then copied as a few
    /// stores each instead of through memcpy (about 250 instructions a hit).
    @inline(__always)
    private static func writePerResponse(_ head: inout HeadWriter, age: Int?, requestID: String,
                                         cacheStatus: CacheStatus?, omitting omitted: AutomaticFields,
                                         keepAlive: Bool, http10KeepAlive: Bool) {
        if let age {
            if !omitted.contains(.age) {
                head.append("Age: ")
                head.append(decimal: age)
                head.append("\r\n")
            }
            // AutomaticFields.viaValue, spelled out so the literal is copied as a few stores.
            if !omitted.contains(.via) { head.append("Via: 1.1 shellac (Shellac/0.1)\r\n") }
        }
        if !omitted.contains(.requestID) {
            head.append("X-Varnish: ")
            head.append(requestID)
            head.append("\r\n")
        }
        if let cacheStatus, !omitted.contains(.cacheStatus) {
            head.append("Cache-Status: ")
            cacheStatus.write(into: &head)
            head.append("\r\n")
        }
        if !keepAlive {
            head.append("Connection: close\r\n")
        } else if http10KeepAlive {
            head.append("Connection: keep-alive\r\n")
        }
        head.append("\r\n")
    }
}
