// StdLibrary: the parts of vmod_std that are plain text processing (querysort, duration
// parsing), kept apart from the interpreter so they are tested directly.

enum StdLibrary {
    /// std.querysort: the query parameters sorted by name (stable for equal names), empty ones
    /// dropped, so equivalent URLs share one cache key.
    static func querysort(_ url: String) -> String {
        if isSortedQuery(url) { return url }  // the common case: nothing to allocate
        let bytes = Array(url.utf8)
        guard let question = bytes.firstIndex(of: UInt8(ascii: "?")) else { return url }
        // Parameters as (name, whole) byte ranges, then a stable sort by name.
        var parameters: [(name: Range<Int>, whole: Range<Int>)] = []
        var start = question + 1
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
            if end > start {
                let nameEnd = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")) ?? end
                parameters.append((start..<nameEnd, start..<end))
            }
            start = end + 1
        }
        guard !parameters.isEmpty else { return String(decoding: bytes[..<question], as: UTF8.self) }
        let sorted = bytes.withUnsafeBufferPointer { buffer in
            parameters.enumerated().sorted { a, b in
                let nameA = UnsafeBufferPointer(rebasing: buffer[a.element.name])
                let nameB = UnsafeBufferPointer(rebasing: buffer[b.element.name])
                if nameA.elementsEqual(nameB) { return a.offset < b.offset }
                return nameA.lexicographicallyPrecedes(nameB)
            }
        }
        var out: [UInt8] = Array(bytes[...question])
        out.reserveCapacity(bytes.count)
        for (index, parameter) in sorted.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: bytes[parameter.element.whole])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the query has no empty parameters and its names are already in order (compared
    /// as bytes, as the sort does), so querysort would return it unchanged.
    static func isSortedQuery(_ url: String) -> Bool {
        var url = url
        return url.withUTF8 { bytes in
            guard let question = bytes.firstIndex(of: UInt8(ascii: "?")) else { return true }
            var start = question + 1
            if start == bytes.count { return false }  // "/p?" loses its '?'
            var previous: Range<Int>?
            while true {
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
                if start == end { return false }  // an empty parameter
                var nameEnd = start
                while nameEnd < end, bytes[nameEnd] != UInt8(ascii: "=") { nameEnd += 1 }
                if let previous, Self.precedes(bytes, start..<nameEnd, previous) { return false }
                previous = start..<nameEnd
                guard end != bytes.count else { return true }
                start = end + 1
                if start == bytes.count { return false }  // a trailing '&'
            }
        }
    }

    /// Whether the bytes in `a` sort before those in `b`.
    private static func precedes(_ bytes: UnsafeBufferPointer<UInt8>, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        var i = a.lowerBound
        var j = b.lowerBound
        while i < a.upperBound, j < b.upperBound {
            if bytes[i] != bytes[j] { return bytes[i] < bytes[j] }
            i += 1
            j += 1
        }
        return i == a.upperBound && j < b.upperBound
    }

    /// "1.5s", "10m", "250ms", "2w" as seconds; nil when it is not a duration.
    static func duration(_ text: String) -> Double? {
        let trimmed = text.trimmingOWSString()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
                                         ("w", 604_800), ("y", 31_536_000)]
        for (unit, factor) in units where trimmed.hasSuffix(unit) {
            guard let number = Double(trimmed.dropLast(unit.count)) else { continue }
            return number * factor
        }
        return nil
    }
}
