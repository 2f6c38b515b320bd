// The per-key head: one word for the common single-variant key, value semantics when copied.

import Testing
@testable import ShellacStore

@Suite struct StoreHeadTests {
    private func node(_ path: String) -> LRUNode { LRUNode(object(path), lastUsed: t0) }

    @Test func aHeadIsOneWord() {
        #expect(MemoryLayout<CacheStore.Head>.size == MemoryLayout<Int>.size)
    }

    @Test func variantsKeepTheirOrderNewestFirst() {
        var head = CacheStore.Head()
        let (a, b, c) = (node("/a"), node("/b"), node("/c"))
        for new in [a, b, c] { head.variants.prepend(new) }
        #expect(head.variants.map(\.object.key) == [c, b, a].map(\.object.key))
        #expect(head.variants.popLast() === a)
        head.variants.removeAll { $0 === c }
        #expect(head.variants.map(\.object.key) == [b.object.key])
        head.variants.removeAll()
        #expect(head.isEmpty)
    }

    @Test func removalAsksOncePerVariant() {
        var head = CacheStore.Head()
        let nodes = ["/a", "/b", "/c", "/d"].map(node)
        for new in nodes { head.variants.prepend(new) }
        var asked: [LRUNode] = []
        head.variants.removeAll { node in
            asked.append(node)
            return node === nodes[2] || node === nodes[0]
        }
        #expect(asked.map(\.object.key) == nodes.reversed().map(\.object.key))
        #expect(head.variants.map(\.object.key) == [nodes[3], nodes[1]].map(\.object.key))
        asked = []
        head.variants.removeAll { asked.append($0); return false }
        #expect(asked.count == 2 && head.variants.count == 2)
    }

    @Test func aCopyIsIndependentOfTheOriginal() {
        var head = CacheStore.Head()
        head.variants.prepend(node("/a"))
        head.variants.prepend(node("/b"))
        head.hitForMissUntil = t0 + 10
        var copy = head
        copy.variants.removeAll()
        copy.hitForMissUntil = nil
        copy.markerPasses = true
        #expect(head.variants.count == 2)
        #expect(head.hitForMissUntil == t0 + 10)
        #expect(!head.markerPasses)
        #expect(copy.variants.isEmpty && copy.hitForMissUntil == nil && copy.markerPasses)
    }

    @Test func clearingEverythingButOneVariantLeavesASingleVariantHead() {
        var head = CacheStore.Head()
        head.variants.prepend(node("/a"))
        head.hitForMissUntil = t0
        head.hitForMissUntil = nil
        #expect(head.variants.count == 1)
        #expect(head.busy == nil && head.hitForMissUntil == nil && !head.markerPasses)
        #expect(!head.isEmpty)
    }
}

@Suite struct ShardSpreadTests {
    @Test func similarKeysSpreadEvenlyOverShards() {
        var counts = [Int](repeating: 0, count: 16)
        for index in 0..<16_000 {
            counts[Int(CacheKey(parts: ["/obj/\(index)", "example.com"]).shardHash % 16)] += 1
        }
        #expect(counts.allSatisfy { (800...1_200).contains($0) }, "\(counts)")
    }
}
