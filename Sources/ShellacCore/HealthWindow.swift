// HealthWindow: a backend's recent probe results, as Varnish keeps them: the last `window`
// results, healthy while at least `threshold` of them were good. Starts with `initial` good
// results (by default threshold - 1: one good probe makes a new backend healthy). Pure.

public struct HealthWindow: Sendable, Equatable {
    public let window: Int
    public let threshold: Int
    /// Most recent result last; at most `window` of them.
    public private(set) var results: [Bool]

    public init(window: Int, threshold: Int, initial: Int?) {
        self.window = max(1, min(64, window))
        self.threshold = max(1, min(self.window, threshold))
        let good = max(0, min(self.window, initial ?? (self.threshold - 1)))
        results = Array(repeating: true, count: good)
    }

    public var goodCount: Int { results.reduce(0) { $0 + ($1 ? 1 : 0) } }

    public var isHealthy: Bool { goodCount >= threshold }

    public mutating func record(_ good: Bool) {
        results.append(good)
        if results.count > window { results.removeFirst(results.count - window) }
    }

    /// The window as Varnish's backend.list shows it: one character per probe, oldest first,
    /// `H` good and `-` bad, padded with spaces for probes not yet run.
    public var display: String {
        String(repeating: " ", count: window - results.count) + results.map { $0 ? "H" : "-" }.joined()
    }
}
