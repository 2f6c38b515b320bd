// CookieJar: vmod_cookie's state for one request or fetch: the cookies of a Cookie header, in
// order, to read, keep, filter and write back, read and written exactly as Varnish 7's vmod
// does (so a VCL written for it produces the same Cookie header and the same cache key).

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
    public mutating func parse(_ header: String) {
        cookies.removeAll()
        var rest = Substring(header)
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = String(rest[..<equals])
            rest = rest[rest.index(after: equals)...]
            let end = rest.firstIndex(of: ";") ?? rest.endIndex
            set(name, String(rest[..<end]))
            rest = end < rest.endIndex ? rest[rest.index(after: end)...] : rest[end...]
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
    public var header: String {
        cookies.map { "\($0.name)=\($0.value);" }.joined(separator: " ")
    }

    private static func names(_ list: String) -> Set<String> {
        Set(list.split(separator: ",").map { String($0).trimmingOWSString() })
    }
}
