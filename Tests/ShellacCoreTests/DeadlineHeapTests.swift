// DeadlineHeap on explicit times: entries come out earliest first and only once due, a handle
// removes its own entry and nothing else (not even after its slot is reused), and a long run of
// random operations agrees with a plain sorted list.

import ShellacCore
import Testing

@Suite struct DeadlineHeapTests {
    @Test func entriesComeOutEarliestFirstOnceDue() {
        var heap = DeadlineHeap<String>()
        for (name, deadline) in [("c", 30), ("a", 10), ("d", 40), ("b", 20)] {
            _ = heap.insert(name, deadline: UInt64(deadline))
        }
        #expect(heap.firstDeadline == 10)
        #expect(heap.popExpired(now: 9) == nil)
        #expect(heap.popExpired(now: 25) == "a")
        #expect(heap.popExpired(now: 25) == "b")
        #expect(heap.popExpired(now: 25) == nil)
        #expect(heap.count == 2 && heap.firstDeadline == 30)
        #expect(heap.popExpired(now: 100) == "c")
        #expect(heap.popExpired(now: 100) == "d")
        #expect(heap.isEmpty && heap.firstDeadline == nil)
    }

    @Test func aHandleRemovesItsOwnEntryOnce() {
        var heap = DeadlineHeap<String>()
        let a = heap.insert("a", deadline: 10)
        let b = heap.insert("b", deadline: 20)
        _ = heap.insert("c", deadline: 5)
        #expect(heap.remove(b) == "b")
        #expect(heap.remove(b) == nil, "removed already")
        // b's slot is reused by d: b's handle still names nothing.
        let d = heap.insert("d", deadline: 1)
        #expect(heap.remove(b) == nil)
        #expect(heap.popExpired(now: 100) == "d")
        #expect(heap.remove(d) == nil, "popped already")
        #expect(heap.remove(a) == "a")
        #expect(heap.popExpired(now: 100) == "c")
        #expect(heap.isEmpty)
    }

    @Test func equalDeadlinesAllComeOut() {
        var heap = DeadlineHeap<Int>()
        for n in 0..<50 { _ = heap.insert(n, deadline: 7) }
        var out: [Int] = []
        while let n = heap.popExpired(now: 7) { out.append(n) }
        #expect(out.sorted() == Array(0..<50))
    }

    /// Inserts, removals and pops chosen by a seeded generator, checked step by step against a
    /// list kept sorted by deadline.
    @Test func randomOperationsAgreeWithASortedList() {
        var random = SplitMix(seed: 7)
        var heap = DeadlineHeap<Int>()
        var model: [(deadline: UInt64, id: Int)] = []
        var handles: [Int: DeadlineHeap<Int>.Handle] = [:]
        var now: UInt64 = 0
        for id in 0..<20_000 {
            switch random.next() % 10 {
            case 0...4:
                let deadline = now + random.next() % 1000
                handles[id] = heap.insert(id, deadline: deadline)
                model.append((deadline, id))
            case 5...6:
                guard let victim = handles.keys.randomElement(using: &random) else { continue }
                let removed = heap.remove(handles.removeValue(forKey: victim)!)
                #expect(removed == victim)
                model.removeAll { $0.id == victim }
            default:
                now += random.next() % 50
                while let popped = heap.popExpired(now: now) {
                    let due = model.filter { $0.deadline <= now }
                    let earliest = due.map(\.deadline).min()
                    let entry = model.first { $0.id == popped }
                    #expect(entry != nil && entry?.deadline == earliest)
                    model.removeAll { $0.id == popped }
                    handles[popped] = nil
                }
                #expect(!model.contains { $0.deadline <= now })
            }
            #expect(heap.count == model.count)
            #expect(heap.firstDeadline == model.map(\.deadline).min())
        }
    }
}

/// A small seeded generator, so the random test runs the same every time.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
