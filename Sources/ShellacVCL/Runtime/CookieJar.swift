// CookieJar: vmod_cookie's state for one request or fetch: the cookies of a Cookie header, in
// order, to read, keep, filter and write back, read and written exactly as Varnish 7's vmod
// does (so a VCL written for it produces the same Cookie header and the same cache key).

import ShellacHTTP

public struct CookieJar: Sendable, Equatable {
    struct Cookie: Sendable, Equatable {
        var name: String
        var value: String
    }

    private(set) var cookies: [Cookie] = []

    public init() {}

    /// cookie.parse: the jar becomes the cookies of `header`, as Varnish reads them: blanks
    /// before a name skipped, the name up to the next '=', the value up to the next ';'. A
    /// part without '=' ends the reading; a cookie with an empty value is left out, and a name
    /// given twice keeps its first place with its last value.
    /// Read as bytes, as Varnish reads them (by Character, a cookie header of some hundreds of
    /// bytes cost tens of thousands of instructions in grapheme breaking).
    public mutating func parse(_ header: String) {
        cookies.removeAll(keepingCapacity: true)
        var header = header
        header.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
                guard let equals = bytes[index...].firstIndex(of: 0x3D) else { break }
                let end = bytes[(equals + 1)...].firstIndex(of: 0x3B) ?? bytes.count
                set(String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<equals]), as: UTF8.self),
                    String(decoding: UnsafeBufferPointer(rebasing: bytes[(equals + 1)..<end]), as: UTF8.self))
                index = end + 1
            }
        }
    }

    /// cookie.set: replaces the cookie's value where it is, or adds it last (an empty name or
    /// value changes nothing).
    public mutating func set(_ name: String, _ value: String) {
        guard !name.isEmpty, !value.isEmpty else { return }
        if let index = cookies.firstIndex(where: { $0.name == name }) {
            cookies[index].value = value
        } else {
            cookies.append(Cookie(name: name, value: value))
        }
    }

    public func value(of name: String) -> String? {
        cookies.first { $0.name == name }?.value
    }

    public mutating func delete(_ name: String) {
        cookies.removeAll { $0.name == name }
    }

    /// cookie.keep and cookie.filter: the names of a comma-separated list (blanks around them
    /// ignored) are the only ones kept, or the ones removed.
    public mutating func keep(only list: String) {
        let names = Self.names(list)
        cookies.removeAll { !names.contains($0.name) }
    }

    public mutating func remove(all list: String) {
        let names = Self.names(list)
        cookies.removeAll { names.contains($0.name) }
    }

    /// The same with a test on the name (cookie.keep_re, cookie.filter_re).
    public mutating func keep(where matches: (String) -> Bool) {
        cookies.removeAll { !matches($0.name) }
    }

    public mutating func remove(where matches: (String) -> Bool) {
        cookies.removeAll { matches($0.name) }
    }

    /// cookie.get_re: the value of the first cookie whose name matches.
    public func value(where matches: (String) -> Bool) -> String? {
        cookies.first { matches($0.name) }?.value
    }

    /// cookie.get_string: "name=value; " for each cookie, the last ';' kept as Varnish writes it.
    /// Written into one String of the exact length.
    public var header: String {
        guard !cookies.isEmpty else { return "" }
        let length = cookies.reduce(cookies.count * 3 - 1) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        return String(unsafeUninitializedCapacity: length) { buffer in
            var offset = 0
            for (position, cookie) in cookies.enumerated() {
                if position > 0 {
                    buffer[offset] = 0x20
                    offset += 1
                }
                offset += cookie.name.copyUTF8(into: buffer, at: offset)
                buffer[offset] = 0x3D
                offset += 1
                offset += cookie.value.copyUTF8(into: buffer, at: offset)
                buffer[offset] = 0x3B
                offset += 1
            }
            return offset
        }
    }

    /// The names of a comma-separated list, blanks around them dropped: a list, not a set (a
    /// handful of names is found sooner by comparing than by hashing).
    private static func names(_ list: String) -> [String] {
        var list = list
        return list.withUTF8 { bytes in
            var names: [String] = []
            var start = 0
            while start <= bytes.count {
                let end = bytes[start...].firstIndex(of: 0x2C) ?? bytes.count
                names.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[bytes.trimmingOWS(start..<end)]),
                                    as: UTF8.self))
                start = end + 1
            }
            return names
        }
    }
}
