// LatencyHistogram: a Prometheus histogram of durations recorded from any event loop without a
// lock: a counter per bucket and the sum in nanoseconds, all atomic. Recording is a few compares
// and two additions (a histogram behind a lock cost about 600 instructions a fetch); the
// exposition text is written when scraped.

import Synchronization

/// @unchecked: the bucket counters sit behind a pointer, but each is an Atomic, and the pointer
/// and bounds never change once made.
final class LatencyHistogram: @unchecked Sendable {
    /// Upper bounds of the buckets, in nanoseconds, ascending (+Inf follows).
    private let bounds: [Int64]
    /// Observations per bucket (not cumulative), the last for +Inf.
    private let counts: UnsafeMutablePointer<Atomic<Int>>
    private let sumNanoseconds = Atomic<Int64>(0)

    init(bounds: [Duration]) {
        self.bounds = bounds.map { Self.nanoseconds($0) }
        counts = .allocate(capacity: bounds.count + 1)
        for index in 0...bounds.count { (counts + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: bounds.count + 1)
        counts.deallocate()
    }

    /// Records a duration in seconds (a negative one, from a clock step, as zero).
    func record(seconds: Double) {
        let nanoseconds = Int64((max(0, seconds) * 1e9).rounded())
        var bucket = 0
        while bucket < bounds.count, nanoseconds > bounds[bucket] { bucket += 1 }
        counts[bucket].wrappingAdd(1, ordering: .relaxed)
        sumNanoseconds.wrappingAdd(nanoseconds, ordering: .relaxed)
    }

    /// The sample lines of `name` (the histogram's full name, unit included) with `labels`
    /// (rendered, without braces, e.g. `backend="default"`): cumulative buckets, sum and count.
    func samples(name: String, labels: String) -> String {
        var text = ""
        var total = 0
        for index in 0...bounds.count {
            total += counts[index].load(ordering: .relaxed)
            let bound = index < bounds.count ? Self.seconds(bounds[index]) : "+Inf"
            text += "\(name)_bucket{\(labels),le=\"\(bound)\"} \(total)\n"
        }
        text += "\(name)_sum{\(labels)} \(Self.seconds(sumNanoseconds.load(ordering: .relaxed)))\n"
        text += "\(name)_count{\(labels)} \(total)\n"
        return text
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }

    /// Seconds as Prometheus prints them ("0.005", "2.5", "10.0").
    private static func seconds(_ nanoseconds: Int64) -> String {
        "\(Double(nanoseconds) / 1e9)"
    }
}
