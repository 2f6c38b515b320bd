// HeadParser: splits a complete message head into the start line and validated field lines.
// Strict by design (RFC 9112 §2–5): CRLF line endings only, no obs-fold, no whitespace
// between a field name and its colon, no CR/LF/NUL or other controls in values.

import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum HeadParser {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A

    /// Finds the end of the head: the index just past the blank line, scanning from `from`.
    /// A lone LF is an error (we accept CRLF only). A CR anywhere but before an LF is left to the
    /// line checks, which reject it as a control character wherever it stands (start line, name
    /// or value): looking for one here as well cost a second memchr call on every line.
    static func findHeadEnd(_ bytes: UnsafeRawBufferPointer, from: Int) throws(HTTPParseError) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let n = bytes.count
        var i = max(0, from)
        // Line by line with memchr (vectorised) rather than byte by byte: each LF must follow a CR.
        while i < n {
            guard let found = memchr(base + i, Int32(lf), n - i) else { return nil }
            let at = base.distance(to: UnsafeRawPointer(found))
            guard at > 0, bytes[at - 1] == cr else { throw .bad("bare LF in message head") }
            // A blank line is CRLF CRLF, or CRLF at the very start (handled by caller).
            if at >= 3, bytes[at - 2] == lf, bytes[at - 3] == cr { return at + 1 }
            i = at + 1
        }
        return nil
    }

    enum Location {
        /// The head is `length` bytes long (blank line included).
        case complete(length: Int)
        /// Not all there yet; scanning resumes at `scanned` next time.
        case incomplete(scanned: Int)
    }

    /// Looks for the end of a head within the first `maxHeadSize` readable bytes of `buffer`,
    /// resuming from `scanned`. While it is incomplete, `checkIncomplete` sees the window and the
    /// total buffered, to throw the parser's own size errors.
    static func locate(in buffer: ByteBuffer, scanned: Int, maxHeadSize: Int,
                       checkIncomplete: (UnsafeRawBufferPointer, Int) throws(HTTPParseError) -> Void)
        throws(HTTPParseError) -> Location {
        try buffer.withUnsafeReadableBytes { raw throws(HTTPParseError) -> Location in
            let window = UnsafeRawBufferPointer(rebasing: raw[0..<min(raw.count, maxHeadSize)])
            if let end = try findHeadEnd(window, from: max(0, scanned - 3)) { return .complete(length: end) }
            try checkIncomplete(window, raw.count)
            return .incomplete(scanned: window.count)
        }
    }

    /// Parses the first `length` readable bytes with `parse` and consumes them.
    static func take<Head>(_ length: Int, from buffer: inout ByteBuffer,
                           parse: (UnsafeRawBufferPointer) throws(HTTPParseError) -> Head)
        throws(HTTPParseError) -> Head {
        let head = try buffer.withUnsafeReadableBytes { raw throws(HTTPParseError) in
            try parse(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
        }
        buffer.moveReaderIndex(forwardBy: length)
        return head
    }

    /// The lines of a head (ending in CRLF CRLF) without their CRLF, one at a time; the blank
    /// line is skipped. Read in place: a list of the lines was an allocation on every message.
    struct Lines {
        private let head: UnsafeRawBufferPointer
        private var start = 0

        init(_ head: UnsafeRawBufferPointer) {
            self.head = head
        }

        mutating func next() -> UnsafeRawBufferPointer? {
            guard let base = head.baseAddress else { return nil }
            // The head was validated by findHeadEnd: every LF ends a CRLF.
            while start < head.count, let found = memchr(base + start, Int32(lf), head.count - start) {
                let at = base.distance(to: UnsafeRawPointer(found))
                let end = at > start && head[at - 1] == cr ? at - 1 : at
                let lineStart = start
                start = at + 1
                if end > lineStart { return UnsafeRawBufferPointer(rebasing: head[lineStart..<end]) }
            }
            return nil
        }

        /// How many bytes are left to read.
        var bytesLeft: Int { head.count - start }
    }

    /// Parses the remaining field lines into `HTTPFields`, enforcing the per-line and count limits.
    static func fields(_ lines: inout Lines, limits: HTTPParserLimits,
                       recent: inout RecentFieldValues) throws(HTTPParseError) -> HTTPFields {
        var none: LeftOutFields?
        return try fields(&lines, limits: limits, recent: &recent, leavingOut: &none, keepingContentLength: true)
    }

    /// The same, leaving out the fields `leftOut` takes (when there is one) and noting them there.
    static func fields(_ lines: inout Lines, limits: HTTPParserLimits, recent: inout RecentFieldValues,
                       leavingOut leftOut: inout LeftOutFields?,
                       keepingContentLength: Bool) throws(HTTPParseError) -> HTTPFields {
        // Room for about one field per 20 bytes (few lines are shorter), plus the few a proxy adds
        // (Via, X-Forwarded-For, Date): counting the lines first read the head twice.
        let capacity = min(limits.maxFieldCount, lines.bytesLeft / 20) + 3
        var fields: [HTTPField] = []
        // While every line is the one at its place in the last head, nothing is built: a head
        // that repeats the last one whole gets that head's list, shared, and one that stops
        // repeating takes the fields of the lines so far from the last head's lines.
        let lastLineCount = recent.lines.lastLineCount(keepingContentLength: keepingContentLength,
                                                       leavingOut: leftOut != nil)
        var repeating = lastLineCount != nil
        if !repeating { fields.reserveCapacity(capacity) }
        var count = 0
        while let line = lines.next() {
            guard count < limits.maxFieldCount else {
                throw HTTPParseError(status: 431, "more than \(limits.maxFieldCount) header fields")
            }
            guard line.count <= limits.maxFieldLineSize else {
                throw HTTPParseError(status: 431, "a header field line exceeds \(limits.maxFieldLineSize) bytes")
            }
            let same = recent.lines.repeats(at: count, line)
            if repeating {
                if same && count < lastLineCount! {
                    count += 1
                    continue
                }
                repeating = false
                fields.reserveCapacity(capacity)
                addRepeated(count, from: recent.lines, to: &fields, leavingOut: &leftOut, keepingContentLength)
            }
            let parsed: HTTPField
            if same {
                parsed = recent.lines.field(at: count)
            } else {
                parsed = try field(line, recent: &recent)
                if recent.remembers { recent.lines.remember(parsed, at: count, line) }
            }
            count += 1
            add(parsed, to: &fields, leavingOut: &leftOut, keepingContentLength)
        }
        if repeating {
            if count == lastLineCount {
                if leftOut != nil { leftOut = recent.lines.lastLeftOut }
                return recent.lines.lastFields
            }
            addRepeated(count, from: recent.lines, to: &fields, leavingOut: &leftOut, keepingContentLength)  // shorter
        }
        let parsed = HTTPFields(fields)
        if recent.remembers {
            recent.lines.rememberHead(.init(fields: parsed, lineCount: count, keptContentLength: keepingContentLength,
                                            leftOut: leftOut))
        }
        return parsed
    }

    /// Adds the fields of the first `count` lines, each the line at its place in the last head.
    private static func addRepeated(_ count: Int, from lines: RecentFieldLines, to fields: inout [HTTPField],
                                    leavingOut leftOut: inout LeftOutFields?, _ keepingContentLength: Bool) {
        for index in 0..<count {
            add(lines.field(at: index), to: &fields, leavingOut: &leftOut, keepingContentLength)
        }
    }

    /// Adds a parsed field to the list, unless `leftOut` takes it.
    @inline(__always)
    private static func add(_ field: HTTPField, to fields: inout [HTTPField], leavingOut leftOut: inout LeftOutFields?,
                            _ keepingContentLength: Bool) {
        if leftOut?.take(field, keepingContentLength: keepingContentLength) == true { return }
        fields.append(field)
    }

    /// A field line parsed on its own, its value made afresh (a trailer, a test).
    static func field(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPField {
        var none = RecentFieldValues(remembers: false)
        return try field(line, recent: &none)
    }

    /// A field line; a common field's value is the one `recent` remembers when it has the same bytes.
    static func field(_ line: UnsafeRawBufferPointer,
                      recent: inout RecentFieldValues) throws(HTTPParseError) -> HTTPField {
        guard let first = line.first, let base = line.baseAddress else { throw .bad("empty header line") }
        if first == 0x20 || first == 0x09 { throw .bad("obsolete line folding in header") }
        // A name that is one of the common ones (found at the first colon) is a valid token as it
        // stands; any other is checked byte by byte, which cost about a dozen instructions a byte.
        let colon = memchr(base, 0x3A, line.count).map { base.distance(to: UnsafeRawPointer($0)) } ?? 0
        let nameBytes = UnsafeRawBufferPointer(rebasing: line[0..<colon])
        let nameBit = HTTPField.nameBit(nameBytes)
        let name: String
        var slot: Int?
        if colon > 0, let common = CommonFieldNames.name(nameBytes, nameBit: nameBit) {
            (name, slot) = common
        } else {
            try checkName(line)
            name = String(decoding: nameBytes, as: UTF8.self)
        }
        var start = colon + 1
        var end = line.count
        while start < end, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
        while end > start, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
        let valueBytes = UnsafeRawBufferPointer(rebasing: line[start..<end])
        if let slot, let value = recent.value(slot: slot, valueBytes) {
            return HTTPField(name: name, value: value, nameBit: nameBit)
        }
        guard isFieldValue(valueBytes) else { throw .bad("control character in header field value") }
        let value = String(decoding: valueBytes, as: UTF8.self)
        if let slot { recent.remember(value, bytes: valueBytes, slot: slot) }
        return HTTPField(name: name, value: value, nameBit: nameBit)
    }

    /// Checks every byte before a field line's first colon is a token character, and that there
    /// is a colon with a name before it.
    private static func checkName(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) {
        for (index, b) in line.enumerated() {
            if b == 0x3A {
                guard index > 0 else { throw .bad("empty header field name") }
                return
            }
            guard isTokenByte(b) else {
                if b == 0x20 || b == 0x09 { throw .bad("whitespace in or after a header field name") }
                throw .bad("invalid character in header field name")
            }
        }
        throw .bad("header line without colon")
    }

    /// field-vchar = VCHAR / obs-text, with SP and HTAB inside (RFC 9110 §5.5): no control
    /// character but HTAB, no DEL. Eight bytes at a time: a word that may hold a byte below 0x20
    /// (a tab, usually) or a DEL is looked at byte by byte.
    static func isFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            // Some byte below 0x20 (bytes of 0x80 and up never count), or some byte equal to 0x7F.
            let below = (word &- ones &* 0x20) & ~word & highBits
            let del = word ^ (ones &* 0x7F)
            if below | ((del &- ones) & ~del & highBits) != 0 {
                for offset in index..<(index + 8) where !isValueByte(bytes[offset]) { return false }
            }
            index += 8
        }
        while index < bytes.count {
            if !isValueByte(bytes[index]) { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    static func isValueByte(_ b: UInt8) -> Bool {
        !(b < 0x20 && b != 0x09 || b == 0x7F)
    }

    /// RFC 9110 §5.6.2 tchar: digits, letters and !#$%&'*+-.^_`|~, as two 64-bit masks over
    /// ASCII (bit n of the first is byte n, of the second byte 64 + n).
    @inline(__always)
    static func isTokenByte(_ b: UInt8) -> Bool {
        b < 64 ? (0x03FF_6CFA_0000_0000 as UInt64) >> UInt64(b) & 1 != 0
            : b < 128 && (0x57FF_FFFF_C7FF_FFFE as UInt64) >> UInt64(b - 64) & 1 != 0
    }

    /// "HTTP/1.0" or "HTTP/1.1"; other HTTP versions are 505, anything else 400.
    static func version(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPVersion {
        // "HTTP/1." as one little-endian word compare (UTF8View.starts(with:) was ~300 instructions).
        if bytes.count == 8,
           UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)) & 0x00FF_FFFF_FFFF_FFFF == 0x002E_312F_5054_5448 {
            if bytes[7] == UInt8(ascii: "1") { return .http1_1 }
            if bytes[7] == UInt8(ascii: "0") { return .http1_0 }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let u = Array(bytes)
        if u.count == 8, text.hasPrefix("HTTP/"), u[5] >= 0x30, u[5] <= 0x39, u[6] == 0x2E, u[7] >= 0x30, u[7] <= 0x39 {
            throw HTTPParseError(status: 505, "HTTP version \(text) not supported")
        }
        throw .bad("malformed HTTP version")
    }

    /// The values of the fields that frame a message (Transfer-Encoding, Content-Length) and of
    /// Host, picked out in one pass; a name is compared only when its bit matches.
    struct FramingFields {
        var hosts = 0
        var firstHost: String?
        var transferEncodings = FieldValues()
        var contentLengths = FieldValues()

        /// Reads the fields in place (a `for` loop over the list copies every field), into locals
        /// returned as one value: built up in `self`, an initialiser copied the whole struct to
        /// return it and destroyed the original (about 270 instructions a message).
        static func find(in fields: HTTPFields) -> FramingFields {
            let hostBit = KnownName.host, transferEncodingBit = KnownName.transferEncoding
            let contentLengthBit = KnownName.contentLength
            var hosts = 0
            var firstHost: String?
            var transferEncodings = FieldValues()
            var contentLengths = FieldValues()
            fields.fields.withUnsafeBufferPointer { buffer in
                for index in buffer.indices {
                    let nameBit = buffer[index].nameBit
                    if nameBit == hostBit && buffer[index].name.equalsIgnoringASCIICase("Host") {
                        hosts += 1
                        if firstHost == nil { firstHost = buffer[index].value }
                    } else if nameBit == transferEncodingBit
                                && buffer[index].name.equalsIgnoringASCIICase("Transfer-Encoding") {
                        transferEncodings.append(buffer[index].value)
                    } else if nameBit == contentLengthBit && buffer[index].name.equalsIgnoringASCIICase("Content-Length") {
                        contentLengths.append(buffer[index].value)
                    }
                }
            }
            return FramingFields(hosts: hosts, firstHost: firstHost, transferEncodings: transferEncodings,
                                 contentLengths: contentLengths)
        }
    }

    /// The values of a field that is usually sent once: the first kept apart, so the usual
    /// message makes no list (it was an allocation on every response with a Content-Length).
    struct FieldValues: Sequence {
        private(set) var first: String?
        /// Values after the first; nil, not empty, for the usual one or none: copied with every
        /// head a parser remembers, an empty list was a retain and a release each time.
        private var more: [String]?

        var isEmpty: Bool { first == nil }
        var count: Int { first == nil ? 0 : 1 + (more?.count ?? 0) }

        mutating func append(_ value: String) {
            if first == nil {
                first = value
            } else {
                more = (more ?? []) + [value]
            }
        }

        func makeIterator() -> IndexingIterator<[String]> {
            ((first.map { [$0] } ?? []) + (more ?? [])).makeIterator()
        }
    }

    /// Parses one Content-Length value: 1*DIGIT, no sign, no spaces, no overflow.
    static func contentLength(_ value: String) -> Int? {
        guard !value.isEmpty, value.utf8.count <= 18 else { return nil }
        // Read from the bytes in place: walking the String's UTF-8 view cost about forty
        // instructions a digit. Not contiguous (never from the parser): the view.
        return value.utf8.withContiguousStorageIfAvailable(digits) ?? digits(value.utf8)
    }

    private static func digits<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int? {
        var n = 0
        for b in bytes {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }
}
