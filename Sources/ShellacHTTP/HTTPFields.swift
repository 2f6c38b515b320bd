// HTTPFields: an ordered list of header fields with ASCII case-insensitive name lookup, and
// their wire form. Owns no I/O; values are stored exactly as parsed (already validated).

import NIOCore

/// One header field line, name and value as received (value without surrounding whitespace).
public struct HTTPField: Sendable, Equatable {
    public var name: String {
        didSet { nameBit = Self.nameBit(name) }
    }
    public var value: String
    /// `HTTPField.nameBit(name)`, computed once: header lists OR these up after every change.
    public private(set) var nameBit: UInt64

    public init(name: String, value: String) {
        self.name = name
        self.value = value
        nameBit = Self.nameBit(name)
    }

    /// A field whose name's bit the caller already has (`nameBit(name)`, computed once).
    public init(name: String, value: String, nameBit: UInt64) {
        self.name = name
        self.value = value
        self.nameBit = nameBit
    }

    /// One of 63 bits, from a name's length and first and last bytes, case-insensitively, plus
    /// `startsWithP` for a name starting with P. The bits of a set of names, OR-ed, answer "not
    /// here" for most other names without comparing any (most names a proxy asks for, such as
    /// Authorization or If-None-Match, are absent). The P bit stands for every Proxy-* name at
    /// once, which a proxy removes from every message.
    public static func nameBit(_ name: String) -> UInt64 {
        // Borrowed where possible: a `var` copy for `withUTF8` cost a retain and a release.
        if let bit = name.utf8.withContiguousStorageIfAvailable({ nameBit(UnsafeRawBufferPointer($0)) }) {
            return bit
        }
        var contiguous = name
        return contiguous.withUTF8 { nameBit(UnsafeRawBufferPointer($0)) }
    }

    /// Whether `value` can be a field's value (RFC 9110 §5.5): no control character but HTAB,
    /// so nothing set from VCL can end a header line early and start another.
    public static func isValidValue(_ value: String) -> Bool {
        value.utf8.withContiguousStorageIfAvailable(isValidValue(bytes:))
            ?? value.utf8.allSatisfy(HeadParser.isValueByte)
    }

    /// The same for bytes, eight at a time: a word with no byte below 0x20 and none equal to 0x7F
    /// is all value bytes (a VCL cookie filter checks a few hundred bytes on every request); only
    /// a word holding one is looked at byte by byte, for the tab it may be.
    static func isValidValue(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        while index + 8 <= bytes.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            // Nonzero exactly when some byte is below 0x20, or some byte is 0x7F (zero after the xor).
            let below = (word &- 0x20 &* ones) & ~word & highBits
            let delete = ((word ^ 0x7F &* ones) &- ones) & ~(word ^ 0x7F &* ones) & highBits
            if below | delete != 0 {
                for offset in 0..<8 where !HeadParser.isValueByte(base[index + offset]) { return false }
            }
            index += 8
        }
        while index < bytes.count {
            if !HeadParser.isValueByte(base[index]) { return false }
            index += 1
        }
        return true
    }

    /// Whether `text` can be a request's method (a token, RFC 9110 §9.1).
    public static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(HeadParser.isTokenByte)
    }

    /// Whether `text` can be a request target on the request line: no space or control character.
    public static func isValidTarget(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F }
    }

    /// The field as a head carries it, "name: value" CRLF, or nil when the name or the value
    /// holds a line break (such a line could not be read back as one field).
    public static func line(name: String, value: String) -> String? {
        let count = name.utf8.count + value.utf8.count + 4
        var holdsLineBreak = false
        let line = String(unsafeUninitializedCapacity: count) { buffer in
            var written = name.copyUTF8(into: buffer, at: 0)
            buffer[written] = UInt8(ascii: ":")
            buffer[written + 1] = UInt8(ascii: " ")
            written += 2
            written += value.copyUTF8(into: buffer, at: written)
            holdsLineBreak = buffer[..<written].contains { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }
            buffer[written] = UInt8(ascii: "\r")
            buffer[written + 1] = UInt8(ascii: "\n")
            return written + 2
        }
        return holdsLineBreak ? nil : line
    }

    /// The bit of a name given as bytes (a parser has them before the name is a String).
    public static func nameBit(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let first = bytes.first, let last = bytes.last else { return 1 }
        return nameBit(first: first, last: last, count: bytes.count)
    }

    /// The bit of a name written in the source (not empty): inlined, it folds to a constant where
    /// it is used.
    @inlinable @inline(__always)
    public static func nameBit(known name: StaticString) -> UInt64 {
        let count = name.utf8CodeUnitCount
        return nameBit(first: name.utf8Start[0], last: name.utf8Start[count - 1], count: count)
    }

    @inlinable @inline(__always)
    static func nameBit(first: UInt8, last: UInt8, count: Int) -> UInt64 {
        let bit: UInt64 = 1 << ((UInt64(first | 0x20) &* 31 &+ UInt64(last | 0x20) &* 7 &+ UInt64(count)) % 63)
        return first | 0x20 == UInt8(ascii: "p") ? bit | startsWithP : bit
    }

    /// The bit every name starting with P or p has besides its own.
    public static var startsWithP: UInt64 { 1 << 63 }
}

/// An ordered header list. Names compare case-insensitively (RFC 9110 §5.1).
public struct HTTPFields: Sendable, Equatable, Sequence {
    public private(set) var fields: [HTTPField]
    /// The `HTTPField.nameBit` of every name present, kept in step with `fields`.
    public private(set) var nameBits: UInt64

    public init(_ fields: [HTTPField] = []) {
        self.fields = fields
        nameBits = Self.nameBits(of: fields)
    }

    /// Whether both lists are one list in memory (a copy not yet changed), so hold the same fields
    /// without comparing them. False for two empty lists.
    public func sharesStorage(with other: HTTPFields) -> Bool {
        guard !fields.isEmpty, fields.count == other.fields.count else { return false }
        return fields.withUnsafeBufferPointer { mine in
            other.fields.withUnsafeBufferPointer { $0.baseAddress == mine.baseAddress }
        }
    }

    // Fields are looked at in place, through buffer pointers: a `for` loop, `reduce` or
    // `contains(where:)` over the list copied each field it passed (two Strings retained and
    // released, about 90 instructions a field), and a head is parsed and searched on every request.

    /// The union of the fields' name bits.
    private static func nameBits(of fields: [HTTPField]) -> UInt64 {
        fields.withUnsafeBufferPointer { buffer in
            var bits: UInt64 = 0
            for index in buffer.indices { bits |= buffer[index].nameBit }
            return bits
        }
    }

    /// The position of the first field named `name` (its bit is `nameBit`) from `start` on.
    private func index(of name: String, nameBit: UInt64, from start: Int = 0) -> Int? {
        fields.withUnsafeBufferPointer { buffer in
            var index = start
            while index < buffer.count {
                if buffer[index].nameBit == nameBit && buffer[index].name.equalsIgnoringASCIICase(name) { return index }
                index += 1
            }
            return nil
        }
    }

    public init(_ pairs: [(String, String)]) {
        self.init(pairs.map { HTTPField(name: $0.0, value: $0.1) })
    }

    /// Whether `name` may be present: false means it certainly is not.
    @inline(__always)
    private func mayContain(_ name: String) -> Bool {
        nameBits & HTTPField.nameBit(name) != 0
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[HTTPField]> {
        fields.makeIterator()
    }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        self[name, nameBit: HTTPField.nameBit(name)]
    }

    /// The first value of `name`, whose `HTTPField.nameBit` the caller keeps (a name looked up
    /// again and again, such as a compiled VCL's).
    public subscript(name: String, nameBit nameBit: UInt64) -> String? {
        guard nameBits & nameBit != 0, let index = index(of: name, nameBit: nameBit) else { return nil }
        return fields[index].value
    }

    /// Calls `body` with every value of `name` in order, given the name's `HTTPField.nameBit`:
    /// other names are passed over on their bits, without comparing them.
    public func forEachValue(of name: String, nameBit: UInt64, _ body: (String) -> Void) {
        guard nameBits & nameBit != 0 else { return }
        var next = index(of: name, nameBit: nameBit)
        while let index = next {
            body(fields[index].value)
            next = self.index(of: name, nameBit: nameBit, from: index + 1)
        }
    }

    /// Every value of `name` in order.
    public func values(_ name: String) -> [String] {
        values(name, nameBit: HTTPField.nameBit(name))
    }

    public func values(_ name: String, nameBit: UInt64) -> [String] {
        var values: [String] = []
        forEachValue(of: name, nameBit: nameBit) { values.append($0) }
        return values
    }

    /// All values of `name` joined as one comma-separated list (RFC 9110 §5.3).
    public func combined(_ name: String) -> String? {
        combined(name, nameBit: HTTPField.nameBit(name))
    }

    public func combined(_ name: String, nameBit: UInt64) -> String? {
        var first: String?
        var joined: String?
        forEachValue(of: name, nameBit: nameBit) { value in
            if first == nil {
                first = value
            } else {
                joined = (joined ?? first!) + ", " + value
            }
        }
        return joined ?? first
    }

    public func contains(_ name: String) -> Bool {
        contains(name, nameBit: HTTPField.nameBit(name))
    }

    /// Whether `name` is present, given its `HTTPField.nameBit`.
    public func contains(_ name: String, nameBit: UInt64) -> Bool {
        nameBits & nameBit != 0 && index(of: name, nameBit: nameBit) != nil
    }

    public func count(of name: String) -> Int {
        guard mayContain(name) else { return 0 }
        return fields.reduce(0) { $0 + ($1.name.equalsIgnoringASCIICase(name) ? 1 : 0) }
    }

    public mutating func add(_ name: String, _ value: String) {
        add(HTTPField(name: name, value: value))
    }

    public mutating func add(_ field: HTTPField) {
        fields.append(field)
        nameBits |= field.nameBit
    }

    /// Replaces every `name` field with one field holding `value`, keeping the first position.
    public mutating func set(_ name: String, _ value: String) {
        set(name, value, nameBit: HTTPField.nameBit(name))
    }

    /// The same, given the name's `HTTPField.nameBit`.
    public mutating func set(_ name: String, _ value: String, nameBit: UInt64) {
        if nameBits & nameBit != 0, let index = index(of: name, nameBit: nameBit) {
            fields[index].value = value
            var next = index + 1
            while next < fields.count {
                if fields[next].nameBit == nameBit && fields[next].name.equalsIgnoringASCIICase(name) {
                    fields.remove(at: next)
                } else {
                    next += 1
                }
            }
        } else {
            add(HTTPField(name: name, value: value, nameBit: nameBit))
        }
    }

    public mutating func remove(_ name: String) {
        remove(name, nameBit: HTTPField.nameBit(name))
    }

    /// Removes every `name` field, given the name's `HTTPField.nameBit`.
    public mutating func remove(_ name: String, nameBit: UInt64) {
        guard nameBits & nameBit != 0 else { return }
        removeAll { $0.nameBit == nameBit && $0.name.equalsIgnoringASCIICase(name) }
    }

    /// Removes the fields `predicate` picks, keeping the others in order. Looks before it
    /// changes anything: a list with nothing to remove is not copied or written.
    /// Fields are looked at in place (through buffer pointers), not copied out one by one.
    public mutating func removeAll(where predicate: (HTTPField) -> Bool) {
        let first = fields.withUnsafeBufferPointer { buffer -> Int? in
            var index = 0
            while index < buffer.count {
                if predicate(buffer[index]) { return index }
                index += 1
            }
            return nil
        }
        guard let first else { return }
        let kept = fields.withUnsafeMutableBufferPointer { buffer -> Int in
            var kept = first
            var index = first + 1
            while index < buffer.count {
                if !predicate(buffer[index]) {
                    buffer.swapAt(kept, index)
                    kept += 1
                }
                index += 1
            }
            return kept
        }
        // One at a time from the end (usually one or two go): removeSubrange went through the
        // general replaceSubrange, about 230 instructions.
        while kept < fields.count { fields.removeLast() }
        nameBits = Self.nameBits(of: fields)
    }

    /// Whether a comma-separated list header contains `token`, case-insensitively.
    public func listContains(_ name: String, token: String) -> Bool {
        listContains(name, nameBit: HTTPField.nameBit(name), token: token)
    }

    public func listContains(_ name: String, nameBit: UInt64, token: String) -> Bool {
        var found = false
        forEachValue(of: name, nameBit: nameBit) { value in
            if !found && FieldList.contains(value, token: token) { found = true }
        }
        return found
    }
}

/// The name bits of the fields looked up on every request or fetch. Each folds to a constant
/// where it is read: as `static let`s computed at first use, every read was a call to swift_once
/// (about fourteen a hit and thirty a pass); worked out from the text at each lookup, about forty
/// instructions.
public enum KnownName {
    @inlinable public static var acceptEncoding: UInt64 { HTTPField.nameBit(known: "Accept-Encoding") }
    @inlinable public static var age: UInt64 { HTTPField.nameBit(known: "Age") }
    @inlinable public static var authorization: UInt64 { HTTPField.nameBit(known: "Authorization") }
    @inlinable public static var cacheControl: UInt64 { HTTPField.nameBit(known: "Cache-Control") }
    @inlinable public static var connection: UInt64 { HTTPField.nameBit(known: "Connection") }
    @inlinable public static var contentEncoding: UInt64 { HTTPField.nameBit(known: "Content-Encoding") }
    @inlinable public static var contentLength: UInt64 { HTTPField.nameBit(known: "Content-Length") }
    @inlinable public static var cookie: UInt64 { HTTPField.nameBit(known: "Cookie") }
    @inlinable public static var date: UInt64 { HTTPField.nameBit(known: "Date") }
    @inlinable public static var expect: UInt64 { HTTPField.nameBit(known: "Expect") }
    @inlinable public static var expires: UInt64 { HTTPField.nameBit(known: "Expires") }
    @inlinable public static var host: UInt64 { HTTPField.nameBit(known: "Host") }
    @inlinable public static var ifModifiedSince: UInt64 { HTTPField.nameBit(known: "If-Modified-Since") }
    @inlinable public static var ifNoneMatch: UInt64 { HTTPField.nameBit(known: "If-None-Match") }
    @inlinable public static var range: UInt64 { HTTPField.nameBit(known: "Range") }
    @inlinable public static var transferEncoding: UInt64 { HTTPField.nameBit(known: "Transfer-Encoding") }
    @inlinable public static var vary: UInt64 { HTTPField.nameBit(known: "Vary") }
    @inlinable public static var via: UInt64 { HTTPField.nameBit(known: "Via") }
    @inlinable public static var xForwardedFor: UInt64 { HTTPField.nameBit(known: "X-Forwarded-For") }
    @inlinable public static var xVarnish: UInt64 { HTTPField.nameBit(known: "X-Varnish") }
}

extension String {
    /// Calls `body` with the UTF-8 bytes, borrowed in place for a native String (a copy only for
    /// any other). `withUTF8` needs a mutable copy, which retained and released the String.
    @inlinable
    public func withUTF8Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        return try Array(utf8).withUnsafeBufferPointer(body)
    }

    /// Copies the UTF-8 bytes into `buffer` from `offset` on (there must be room); returns how
    /// many. In place for a native String, byte by byte for any other.
    public func copyUTF8(into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        if let count = utf8.withContiguousStorageIfAvailable({ bytes -> Int in
            if let source = bytes.baseAddress, let target = buffer.baseAddress {
                (target + offset).update(from: source, count: bytes.count)
            }
            return bytes.count
        }) {
            return count
        }
        var position = offset
        for byte in utf8 {
            buffer[position] = byte
            position += 1
        }
        return position - offset
    }

    /// ASCII case-insensitive comparison of two Strings, the common case (header names): their
    /// UTF-8 is compared in place, which is several times cheaper than walking two iterators.
    public func equalsIgnoringASCIICase(_ other: String) -> Bool {
        // Names are nearly always spelled alike, and two small (inline) strings compare as two
        // words. Header names are ASCII tokens, where String equality is byte equality.
        if self == other { return true }
        guard utf8.count == other.utf8.count else { return false }
        let compared = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b in FieldList.equalsIgnoringASCIICase(a, b) }
        }
        if let compared, let result = compared { return result }
        return equalsIgnoringASCIICase(other[...])
    }
}

extension StringProtocol {
    /// ASCII case-insensitive comparison, byte by byte, without allocating.
    public func equalsIgnoringASCIICase(_ other: some StringProtocol) -> Bool {
        let a = self.utf8
        let b = other.utf8
        guard a.count == b.count else { return false }
        var ib = b.makeIterator()
        for byteA in a {
            guard let byteB = ib.next() else { return false }
            if byteA != byteB && asciiLower(byteA) != asciiLower(byteB) { return false }
        }
        return true
    }

    /// Whether it begins with `prefix`, ASCII case-insensitively.
    public func hasPrefixIgnoringASCIICase(_ prefix: some StringProtocol) -> Bool {
        var ia = self.utf8.makeIterator()
        for byteB in prefix.utf8 {
            guard let byteA = ia.next(), asciiLower(byteA) == asciiLower(byteB) else { return false }
        }
        return true
    }

    /// The string without leading and trailing spaces and tabs (optional whitespace, RFC 9110 §5.6.3).
    public func trimmingOWS() -> Substring {
        let s = Substring(self)
        var start = s.startIndex
        var end = s.endIndex
        while start < end, s[start] == " " || s[start] == "\t" { start = s.index(after: start) }
        while end > start {
            let before = s.index(before: end)
            guard s[before] == " " || s[before] == "\t" else { break }
            end = before
        }
        return s[start..<end]
    }

    /// Lower-cased ASCII letters only; other bytes unchanged.
    public func asciiLowercased() -> String {
        String(decoding: self.utf8.map(asciiLower), as: UTF8.self)
    }

    /// Upper-cased ASCII letters only; other bytes unchanged.
    public func asciiUppercased() -> String {
        String(decoding: self.utf8.map { ($0 >= 0x61 && $0 <= 0x7A) ? $0 & ~0x20 : $0 }, as: UTF8.self)
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// `range` of these bytes without the spaces and tabs at either end (a list item or a
    /// value read as bytes, RFC 9110 §5.6.3).
    public func trimmingOWS(_ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, self[lower] == 0x20 || self[lower] == 0x09 { lower += 1 }
        while upper > lower, self[upper - 1] == 0x20 || self[upper - 1] == 0x09 { upper -= 1 }
        return lower..<upper
    }

    /// Calls `body` with each comma-separated item of `range` (a list header's value), trimmed
    /// of blanks, until it returns false; items of no bytes at all are passed over, as splitting
    /// at commas does. Returns whether it went through every item.
    @discardableResult
    public func forEachListItem(in range: Range<Int>, _ body: (Range<Int>) -> Bool) -> Bool {
        var start = range.lowerBound
        while start < range.upperBound {
            var end = start
            while end < range.upperBound, self[end] != UInt8(ascii: ",") { end += 1 }
            if end > start, !body(trimmingOWS(start..<end)) { return false }
            start = end + 1
        }
        return true
    }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}

extension ByteBuffer {
    /// Writes each field as "Name: value" CRLF.
    public mutating func writeHTTPFields(_ fields: HTTPFields) {
        writeHead(capacity: HeadWriter.length(of: fields)) { writer in
            writer.append(fields)
        }
    }
}
