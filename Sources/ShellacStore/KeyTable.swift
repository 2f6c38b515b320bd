// KeyTable: one store shard's index from a key's digest to the key's head. Open addressing with
// linear probing over 16-byte slots (digest, head), kept at most 7/8 full: a third of the memory a
// Dictionary keyed by the key's text took, and no hashing beyond the digest the key already has.
// A removal shifts the rest of its probe run back, so no tombstones build up.

extension CacheStore {
    struct KeyTable: Sequence, Sendable {
        private struct Slot: Sendable {
            var digest: UInt64
            /// Empty in a vacant slot: a stored head is never empty.
            var head: Head
        }

        private var slots: [Slot]
        private(set) var count = 0

        init() {
            slots = Array(repeating: Slot(digest: 0, head: Head()), count: 16)
        }

        private var mask: Int { slots.count - 1 }

        private func home(of digest: UInt64) -> Int { Int(truncatingIfNeeded: digest) & mask }

        /// The slot holding `digest`, or the vacant slot ending its probe run.
        private func probe(_ digest: UInt64) -> (index: Int, found: Bool) {
            var index = home(of: digest)
            while true {
                if slots[index].head.isVacant { return (index, false) }
                if slots[index].digest == digest { return (index, true) }
                index = (index + 1) & mask
            }
        }

        /// The head stored for `digest`; setting nil (or an empty head) removes it.
        subscript(digest: UInt64) -> Head? {
            get {
                let (index, found) = probe(digest)
                return found ? slots[index].head : nil
            }
            set {
                guard let head = newValue, !head.isVacant else {
                    let (index, found) = probe(digest)
                    if found { remove(at: index) }
                    return
                }
                var (index, found) = probe(digest)
                if !found && (count + 1) * 8 > slots.count * 7 {
                    grow()
                    index = probe(digest).index
                }
                if !found { count += 1 }
                slots[index] = Slot(digest: digest, head: head)
            }
        }

        /// Changes the head stored for `digest` where it stands (`change` gets an empty head when
        /// none is stored); a head left empty is removed. Copying a head out and setting it back
        /// held its box twice meanwhile, so every change to the box copied it.
        mutating func update<Result>(_ digest: UInt64, _ change: (inout Head) -> Result) -> Result {
            let (index, found) = probe(digest)
            guard found else {
                var head = Head()
                let result = change(&head)
                if !head.isEmpty { self[digest] = head }
                return result
            }
            let result = change(&slots[index].head)
            if slots[index].head.isEmpty { remove(at: index) }
            return result
        }

        private mutating func remove(at removed: Int) {
            var hole = removed
            var index = removed
            while true {
                index = (index + 1) & mask
                if slots[index].head.isVacant { break }
                // The entry may fill the hole if the hole lies between its home slot and here.
                let home = home(of: slots[index].digest)
                if (index - home) & mask >= (index - hole) & mask {
                    slots[hole] = slots[index]
                    hole = index
                }
            }
            slots[hole] = Slot(digest: 0, head: Head())
            count -= 1
        }

        private mutating func grow() {
            let old = slots
            slots = Array(repeating: Slot(digest: 0, head: Head()), count: old.count * 2)
            for slot in old where !slot.head.isVacant {
                var index = home(of: slot.digest)
                while !slots[index].head.isVacant { index = (index + 1) & mask }
                slots[index] = slot
            }
        }

        /// Every (digest, head), in no particular order. Iterates a copy: changing the table while
        /// iterating is safe.
        func makeIterator() -> AnyIterator<(digest: UInt64, head: Head)> {
            var iterator = slots.makeIterator()
            return AnyIterator {
                while let slot = iterator.next() {
                    if !slot.head.isVacant { return (slot.digest, slot.head) }
                }
                return nil
            }
        }
    }
}
