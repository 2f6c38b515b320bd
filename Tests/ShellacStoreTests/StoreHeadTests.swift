// The per-key head: one word for the common single-variant key, value semantics when copied.

import Testing
@testable import ShellacStore

@Suite struct StoreHeadTests {

    @Test func aHeadIsOneWord() {
        #expect(MemoryLayout<CacheStore.Head>.size == MemoryLayout<Int>.size)
    }

    @Test func variantsKeepTheirOrderNewestFirst() {
        var head = CacheStore.Head()
        let (a, b, c) = (object("/a"), object("/b"), object("/c"))
        for new in [a, b, c] { head.variants.prepend(new) }
        #expect(head.variants.map(\.key) == [c, b, a].map(\.key))
        #expect(head.variants.popLast() === a)
        head.variants.removeAll { $0 === c }
        #expect(head.variants.map(\.key) == [b.key])
        head.variants.removeAll()
        #expect(head.isEmpty)
    }

    @Test func removalAsksOncePerVariant() {
        var head = CacheStore.Head()
        let objects = ["/a", "/b", "/c", "/d"].map { object($0) }
        for new in objects { head.variants.prepend(new) }
        var asked: [StoredObject] = []
        head.variants.removeAll { candidate in
            asked.append(candidate)
            return candidate === objects[2] || candidate === objects[0]
        }
        #expect(asked.map(\.key) == objects.reversed().map(\.key))
        #expect(head.variants.map(\.key) == [objects[3], objects[1]].map(\.key))
        asked = []
        head.variants.removeAll { asked.append($0); return false }
        #expect(asked.count == 2 && head.variants.count == 2)
    }

    @Test func aCopyIsIndependentOfTheOriginal() {
        var head = CacheStore.Head()
        head.variants.prepend(object("/a"))
        head.variants.prepend(object("/b"))
        #expect(head.setMarker(for: key("/a"), until: t0 + 10, passes: false, now: t0) == CacheStore.Head.markerCost(key("/a")))
        var copy = head
        copy.variants.removeAll()
        #expect(copy.clearMarker() == CacheStore.Head.markerCost(key("/a")))
        #expect(copy.clearMarker() == 0, "no marker is left to end")
        _ = copy.setMarker(for: key("/a"), until: t0 + 20, passes: true, now: t0 + 5)
        #expect(head.variants.count == 2)
        #expect(head.hitForMissUntil == t0 + 10 && head.markerSince == t0)
        #expect(copy.markerSince == t0 + 5)
        #expect(!head.markerPasses)
        #expect(copy.variants.isEmpty && copy.hitForMissUntil == t0 + 20 && copy.markerPasses)
    }

    @Test func clearingEverythingButOneVariantLeavesASingleVariantHead() {
        var head = CacheStore.Head()
        head.variants.prepend(object("/a"))
        _ = head.setMarker(for: key("/a"), until: t0, passes: true, now: t0)
        _ = head.clearMarker()
        #expect(head.variants.count == 1)
        #expect(head.busy == nil && head.hitForMissUntil == nil && !head.markerPasses)
        #expect(!head.isEmpty)
    }
}

@Suite struct ShardSpreadTests {
    @Test func similarKeysSpreadEvenlyOverShards() {
        var counts = [Int](repeating: 0, count: 16)
        for index in 0..<16_000 {
            counts[Int((CacheKey(parts: ["/obj/\(index)", "example.com"]).digest >> 40) % 16)] += 1
        }
        #expect(counts.allSatisfy { (800...1_200).contains($0) }, "\(counts)")
    }
}

@Suite struct CacheKeyTests {
    @Test func aURLAndHostAfterThePartsMakeTheSameKeyAsAListOfAll() {
        let long = String(repeating: "x", count: 40)
        for parts in [[], ["a"], ["", long]] {
            for (url, host) in [("/u", "h"), ("/\(long)?q=1", ""), ("", long)] {
                let direct = CacheKey(parts: parts, url: url, host: host)
                let listed = CacheKey(parts: parts + [url, host])
                #expect(direct == listed, "\(parts) \(url) \(host)")
                #expect(direct.digest == listed.digest)
            }
        }
        #expect(CacheKey(url: "/a", host: "h").value == "/a\u{1}h")
    }
}
