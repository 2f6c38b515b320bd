// DeadlineHeap: entries ordered by deadline, each removable by the handle its insertion returned,
// in logarithmic time whatever the number of entries. An event loop keeps its idle client
// connections in one: SwiftNIO's own scheduled tasks find the one to cancel by a linear search
// of every task scheduled on the loop, so a timer per connection made closing a connection cost
// more the more connections were open.

public struct DeadlineHeap<Element> {
    /// Names an entry for `remove`. A handle whose entry is gone (removed, or popped as expired)
    /// names nothing, even once its slot serves another entry.
    public struct Handle: Equatable, Sendable {
        let slot: Int32
        let generation: UInt32
    }

    /// The heap proper: deadline and slot, the earliest first.
    private var heap: [(deadline: UInt64, slot: Int32)] = []
    /// By slot: the entry's element, its place in `heap` (-1 when the slot is free), and the
    /// generation its handle must carry.
    private var elements: [Element?] = []
    private var positions: [Int32] = []
    private var generations: [UInt32] = []
    private var freeSlots: [Int32] = []

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }

    /// The earliest deadline, if any.
    public var firstDeadline: UInt64? { heap.first?.deadline }

    /// Adds `element` due at `deadline`; the handle removes it.
    public mutating func insert(_ element: Element, deadline: UInt64) -> Handle {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            elements[Int(slot)] = element
        } else {
            slot = Int32(elements.count)
            elements.append(element)
            positions.append(-1)
            generations.append(0)
        }
        heap.append((deadline, slot))
        positions[Int(slot)] = Int32(heap.count - 1)
        siftUp(heap.count - 1)
        return Handle(slot: slot, generation: generations[Int(slot)])
    }

    /// Takes out the entry `handle` names and returns its element; nil when it is gone already.
    @discardableResult
    public mutating func remove(_ handle: Handle) -> Element? {
        let slot = Int(handle.slot)
        guard slot < positions.count, generations[slot] == handle.generation, positions[slot] >= 0 else {
            return nil
        }
        return take(at: Int(positions[slot]))
    }

    /// The entry with the earliest deadline when that deadline is `now` or earlier, taken out.
    public mutating func popExpired(now: UInt64) -> Element? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        return take(at: 0)
    }

    private mutating func take(at index: Int) -> Element? {
        let slot = Int(heap[index].slot)
        let last = heap.count - 1
        if index != last {
            heap.swapAt(index, last)
            positions[Int(heap[index].slot)] = Int32(index)
        }
        heap.removeLast()
        if index < heap.count {
            siftDown(index)
            siftUp(index)
        }
        let element = elements[slot]
        elements[slot] = nil
        positions[slot] = -1
        generations[slot] &+= 1
        freeSlots.append(Int32(slot))
        return element
    }

    private mutating func siftUp(_ start: Int) {
        var index = start
        while index > 0 {
            let parent = (index - 1) / 2
            guard heap[index].deadline < heap[parent].deadline else { break }
            exchange(index, parent)
            index = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var index = start
        while true {
            let left = 2 * index + 1
            guard left < heap.count else { return }
            let right = left + 1
            let child = right < heap.count && heap[right].deadline < heap[left].deadline ? right : left
            guard heap[child].deadline < heap[index].deadline else { return }
            exchange(index, child)
            index = child
        }
    }

    private mutating func exchange(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        positions[Int(heap[a].slot)] = Int32(a)
        positions[Int(heap[b].slot)] = Int32(b)
    }
}
