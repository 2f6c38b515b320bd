// StdLibrary: the parts of vmod_std that are plain text processing (querysort, duration
// parsing), kept apart from the interpreter so they are tested directly.

enum StdLibrary {
    /// std.querysort: the query parameters sorted by name (stable for equal names), empty ones
    /// dropped, so equivalent URLs share one cache key.
    static func querysort(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        let path = url[..<question]
        let query = url[url.index(after: question)...]
        let parameters = query.split(separator: "&").filter { !$0.isEmpty }
        guard !parameters.isEmpty else { return String(path) }
        let sorted = parameters.enumerated().sorted { a, b in
            let nameA = a.element.split(separator: "=", maxSplits: 1).first ?? ""
            let nameB = b.element.split(separator: "=", maxSplits: 1).first ?? ""
            return nameA == nameB ? a.offset < b.offset : nameA < nameB
        }
        return path + "?" + sorted.map { String($0.element) }.joined(separator: "&")
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
