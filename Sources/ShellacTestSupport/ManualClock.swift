// ManualClock: a clock tests move by hand, so freshness transitions happen without sleeping.

import Synchronization

public final class ManualClock: Sendable {
    private let current: Mutex<Double>

    public init(_ start: Double = 1_800_000_000) {
        current = Mutex(start)
    }

    public var now: Double { current.withLock { $0 } }

    public func advance(by seconds: Double) {
        current.withLock { $0 += seconds }
    }
}
