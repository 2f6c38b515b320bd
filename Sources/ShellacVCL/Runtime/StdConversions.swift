// StdConversions: the parts of vmod_std that read numbers and sizes or call the C library
// (bytes, rounding to an INT, strftime, fnmatch, files and the environment), as Varnish 7 does;
// kept apart from the interpreter so they are tested directly.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StdLibrary {
    /// std.bytes: "10k", "1.5MB", "3 KB", "12": a number, then optionally a unit (B, K, M, G,
    /// T or P, with or without a B, any case) that multiplies by powers of 1024. A fraction needs
    /// a unit; signs, other bases and anything after the unit make it invalid (nil).
    static func bytes(_ text: String) -> Int? {
        var rest = Substring(text.trimmingOWSString())
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !number.isEmpty, number.contains(where: \.isNumber), number.filter({ $0 == "." }).count <= 1,
              let value = Double(number) else { return nil }
        rest = rest.dropFirst(number.count).drop { $0 == " " || $0 == "\t" }
        guard let unit = rest.first?.lowercased() else { return number.contains(".") ? nil : Int(number) }
        let powers: [String: Double] = ["b": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5]
        guard let power = powers[unit] else { return nil }
        rest = rest.dropFirst()
        if power > 0, rest.first == "b" || rest.first == "B" { rest = rest.dropFirst() }
        guard rest.isEmpty else { return nil }
        let bytes = (value * pow(1024, power)).rounded(.down)
        return bytes < 9.2e18 ? Int(bytes) : nil
    }

    /// std.real2integer and std.time2integer: the nearest INT, halves away from zero; nil for
    /// a value with no INT (not a number, infinite, out of range) or no value at all.
    static func integer(rounding value: Double?) -> Int? {
        guard let value, value.isFinite, abs(value) < 9.2e18 else { return nil }
        return Int(value.rounded())
    }

    /// std.strftime: `time` formatted in UTC; "" when the format makes nothing.
    static func strftime(_ time: Double, format: String) -> String {
        var seconds = time_t(time.rounded(.towardZero))
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "" }
        var buffer = [CChar](repeating: 0, count: 1024)
        let length = Glibc.strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// std.fnmatch: shell-style matching (fnmatch(3)); `pathname`: '*' and '?' do not match '/',
    /// `noescape`: '\' is an ordinary character, `period`: a leading '.' must be matched by one.
    static func fnmatch(_ pattern: String, _ subject: String, pathname: Bool, noescape: Bool, period: Bool) -> Bool {
        let flags = (pathname ? FNM_PATHNAME : 0) | (noescape ? FNM_NOESCAPE : 0) | (period ? FNM_PERIOD : 0)
        return Glibc.fnmatch(pattern, subject, flags) == 0
    }

    /// std.file_exists: whether anything (a file, a directory) is at `path`.
    static func fileExists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }

    /// std.getenv: the variable's value, or nil (an unset STRING) when it is not set.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// The whole content of the file at `path`, or nil when it cannot be read.
    static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { content += chunk[0..<count] }
            if count < chunk.count { break }
        }
        guard ferror(file) == 0 else { return nil }
        return String(decoding: content, as: UTF8.self)
    }
}
