// StdLibrary: the parts of vmod_std that are plain text processing (querysort, duration
// parsing), kept apart from the interpreter so they are tested directly.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum StdLibrary {
    /// std.random: a number in [low, high), or low when the range is empty. Not inlined: a
    /// function that calls `Double.random` cannot be specialised in another module, so inlined
    /// into the interpreter it left every std function running unspecialised for the request
    /// and fetch contexts (each value boxed, each context call through a witness table).
    @inline(never) static func random(_ low: Double, _ high: Double) -> Double {
        high > low ? Double.random(in: low..<high) : low
    }

    /// std.querysort: the query parameters sorted as Varnish sorts them, empty ones dropped, so
    /// equivalent URLs share one cache key. Whole parameters (name and value) are compared byte
    /// by byte up to the end of the shorter: `a=0` sorts before `a=1`, and two parameters one of
    /// which begins the other (`a` and `a=1`, `id` and `ids`) count as equal and keep their order.
    /// As in Varnish, a query without '&' is left as it is, and the '?' always stays.
    static func querysort(_ url: String) -> String {
        isSortedQuery(url) ? url : sortingQuery(url)  // sorted already, the common case: nothing to allocate
    }

    /// querysort for a URL `isSortedQuery` has found unsorted.
    static func sortingQuery(_ url: String) -> String {
        var url = url
        return url.withUTF8 { bytes -> String in
            guard let question = bytes.firstIndex(of: UInt8(ascii: "?")) else { return String(decoding: bytes, as: UTF8.self) }
            // (isSortedQuery has seen an '&' after it: a single parameter is left as it is.)
            // Parameters as byte ranges; an insertion sort keeps equal ones in order (queries are
            // short). Kept on the stack for any usual query.
            var most = 1
            for index in (question + 1)..<bytes.count where bytes[index] == UInt8(ascii: "&") { most += 1 }
            return withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: most) { slots in
                var count = 0
                var start = question + 1
                while start <= bytes.count {
                    var end = start
                    while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
                    if end > start {
                        var slot = count
                        while slot > 0, precedes(bytes.baseAddress!, start..<end, slots[slot - 1]) {
                            slots.initializeElement(at: slot, to: slots[slot - 1])
                            slot -= 1
                        }
                        slots.initializeElement(at: slot, to: start..<end)
                        count += 1
                    }
                    start = end + 1
                }
                return Self.joined(bytes, question: question, UnsafeBufferPointer(rebasing: slots[..<count]))
            }
        }
    }

    /// The path and '?', then the parameters in the order given.
    private static func joined(_ bytes: UnsafeBufferPointer<UInt8>, question: Int,
                               _ parameters: UnsafeBufferPointer<Range<Int>>) -> String {
        let length = question + 1 + parameters.reduce(0) { $0 + $1.count } + max(0, parameters.count - 1)
        return String(unsafeUninitializedCapacity: length) { out in
            var written = 0
            func copy(_ range: Range<Int>) {
                for index in range {
                    out[written] = bytes[index]
                    written += 1
                }
            }
            copy(0..<(question + 1))  // the path and its '?', kept even when no parameter is left
            for (index, parameter) in parameters.enumerated() {
                if index > 0 {
                    out[written] = UInt8(ascii: "&")
                    written += 1
                }
                copy(parameter)
            }
            return written
        }
    }

    /// Whether querysort would return the URL unchanged: no query, a query of one parameter (no
    /// '&'), or parameters already in order (as the sort compares them) with none empty. Read in
    /// place: this runs for every request whose VCL sorts its query.
    static func isSortedQuery(_ url: String) -> Bool {
        url.withUTF8Bytes(isSortedQuery)
    }

    /// Each parameter's end is found with memchr; a parameter is read byte by byte only as far as
    /// it matches the one before it.
    private static func isSortedQuery(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress, let question = memchr(base, Int32(UInt8(ascii: "?")), bytes.count) else {
            return true
        }
        let count = bytes.count
        var start = base.distance(to: question.assumingMemoryBound(to: UInt8.self)) + 1
        if memchr(base + start, Int32(UInt8(ascii: "&")), count - start) == nil { return true }  // one parameter
        var previous = 0..<0
        var first = true
        while true {
            let end = memchr(base + start, Int32(UInt8(ascii: "&")), count - start)
                .map { base.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? count
            if end == start { return false }  // an empty parameter
            let parameter = start..<end
            if !first, precedes(base, parameter, previous) { return false }
            first = false
            previous = parameter
            if end == count { return true }
            start = end + 1
            if start == count { return false }  // a trailing '&'
        }
    }

    /// Whether the bytes in `a` sort before those in `b`: the first byte that differs decides,
    /// and when one range ends first they are equal (Varnish's comparison).
    static func precedes(_ bytes: UnsafePointer<UInt8>, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        var i = a.lowerBound
        var j = b.lowerBound
        while i < a.upperBound, j < b.upperBound {
            if bytes[i] != bytes[j] { return bytes[i] < bytes[j] }
            i += 1
            j += 1
        }
        return false
    }

    /// A number as Varnish reads one in std.real, std.integer, std.duration and std.time: blanks,
    /// an optional '-', digits with at most one decimal point, of which the fraction's first three
    /// digits count and the rest are read and ignored (Varnish keeps milliseconds: "1.23456" is
    /// 1.234). No '+', exponent, `inf` or hexadecimal, and no more than 15 digits. Returns the
    /// value and the text after it; nil when no number starts the text.
    static func number(_ text: Substring) -> (value: Double, rest: Substring)? {
        var bytes = text.utf8.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        var whole = 0.0
        var thousandths = 0  // the fraction's first three digits
        var digits = 0
        var fractionDigits: Int?  // nil before the point
        while let byte = bytes.first {
            if byte == UInt8(ascii: "."), fractionDigits == nil {
                fractionDigits = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                let digit = Int(byte - UInt8(ascii: "0"))
                if let count = fractionDigits {
                    if count < 3 {
                        thousandths = thousandths * 10 + digit
                        digits += 1
                    }
                    fractionDigits = count + 1
                } else {
                    whole = whole * 10 + Double(digit)
                    digits += 1
                }
            } else {
                break
            }
            bytes = bytes.dropFirst()
        }
        guard digits > 0, digits <= 15 else { return nil }
        for _ in min(fractionDigits ?? 0, 3)..<3 { thousandths *= 10 }
        let value = whole + Double(thousandths) / 1000
        return (negative ? -value : value, Substring(bytes))
    }

    /// std.real: a number and nothing after it but blanks, below a trillion (Varnish's REALs
    /// have at most twelve digits before the point).
    static func real(_ text: String) -> Double? {
        guard let (value, rest) = number(Substring(text)), isBlank(rest), abs(value) < 1e12 else { return nil }
        return value
    }

    /// std.integer: a number with no fraction (once its milliseconds are kept: "-0.0009" is 0),
    /// and nothing after it but blanks.
    static func integer(_ text: String) -> Int? {
        guard let (value, rest) = number(Substring(text)), isBlank(rest), value == value.rounded() else { return nil }
        return Int(value)
    }

    /// std.duration: "1.5s", "10 m", "250ms", "2w": a number, blanks, then a unit (ms, s, m, h,
    /// d, w or y, lower case), then only blanks; nil when it is not a duration.
    static func duration(_ text: String) -> Double? {
        guard let (value, afterNumber) = number(Substring(text)) else { return nil }
        let rest = afterNumber.drop { $0 == " " || $0 == "\t" }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
                                         ("w", 604_800), ("y", 31_536_000)]
        for (unit, factor) in units where rest.hasPrefix(unit) && isBlank(rest.dropFirst(unit.count)) {
            return value * factor
        }
        return nil
    }

    private static func isBlank(_ text: Substring) -> Bool {
        text.allSatisfy { $0 == " " || $0 == "\t" }
    }
}
