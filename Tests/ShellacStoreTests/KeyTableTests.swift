// The shard index by key digest: agrees with a Dictionary through random inserts, replacements and
// removals (clustered digests, so probe runs wrap and removals shift entries back), and two keys
// sharing a digest never answer for each other.

import NIOCore
import ShellacHTTP
import ShellacTestSupport
import Testing
@testable import ShellacStore

@Suite struct KeyTableTests {
    /// A head holding one object, told apart by its path.
    private func head(_ path: String) -> CacheStore.Head {
        var head = CacheStore.Head()
        head.variants.prepend(object(path))
        return head
    }

    private func path(of head: CacheStore.Head?) -> String? {
        head.flatMap { $0.variants.first?.key.firstPart }.map(String.init)
    }

    @Test func agreesWithADictionaryThroughRandomChanges() {
        var generator = SeededGenerator(state: 7)
        var table = CacheStore.KeyTable()
        var reference: [UInt64: String] = [:]
        for step in 0..<20_000 {
            // Few distinct digests, many sharing low bits: long runs that wrap around the table.
            let digest = UInt64.random(in: 0..<600, using: &generator) &* 1_024 | UInt64(step % 3)
            if Bool.random(using: &generator) || reference.count < 50 {
                let path = "/\(step)"
                table[digest] = head(path)
                reference[digest] = path
            } else {
                table[digest] = nil
                reference[digest] = nil
            }
            if step % 997 == 0 {
                #expect(table.count == reference.count)
                for (digest, path) in reference { #expect(self.path(of: table[digest]) == path) }
                #expect(table.map(\.digest).sorted() == reference.keys.sorted())
            }
        }
        for digest in reference.keys { table[digest] = nil }
        #expect(table.count == 0)
        #expect(Array(table).isEmpty)
    }

    @Test func anEmptyHeadIsARemoval() {
        var table = CacheStore.KeyTable()
        table[5] = head("/a")
        table[5] = CacheStore.Head()
        #expect(table[5] == nil && table.count == 0)
    }

    @Test func iteratingWhileChangingSeesTheTableAsItWas() {
        var table = CacheStore.KeyTable()
        for digest in 0..<100 as Range<UInt64> { table[digest] = head("/\(digest)") }
        var seen = 0
        for (digest, _) in table {
            table[digest] = nil
            seen += 1
        }
        #expect(seen == 100 && table.count == 0)
    }
}

@Suite struct SharedDigestTests {
    /// Two different keys forced onto one digest.
    private let a = CacheKey(value: "/a\u{1}h", digest: 42)
    private let b = CacheKey(value: "/b\u{1}h", digest: 42)

    private func stored(_ key: CacheKey, body: String) -> StoredObject {
        StoredObject(key: key, status: 200, reason: "OK", fields: HTTPFields(), body: [ByteBuffer(string: body)],
                     varyNames: [], varyValues: [], storedAt: t0, initialAge: 0, ttl: 60, grace: 0, keep: 0)
    }

    @Test func aKeyNeverHitsAnotherKeysObject() {
        let store = CacheStore(budget: 1 << 20)
        store.insert(stored(a, body: "A"), completing: nil, now: t0)
        guard case .miss(let fetch, .uriMiss) = store.lookup(b, requestFields: HTTPFields(), now: t0) else {
            Issue.record("b must miss, not hit a's object")
            return
        }
        #expect(store.variants(of: a).isEmpty, "b's miss took the slot; a's object went")
        #expect(store.objects == 0 && store.evictions == 1)
        store.insert(stored(b, body: "B"), completing: fetch, now: t0)
        guard case .hit(let object) = store.lookup(b, requestFields: HTTPFields(), now: t0) else {
            Issue.record("expected b's hit")
            return
        }
        #expect(object.body == ByteBuffer(string: "B"))
        #expect(store.invalidate(a) == 0 && store.softPurge(a, now: t0) == 0)
        #expect(store.staleForError(a, requestFields: HTTPFields(), now: t0) == nil)
        #expect(store.variants(of: b).count == 1)
    }

    @Test func aFetchForTheOtherKeyEndsWithoutTouchingIt() {
        let store = CacheStore(budget: 1 << 20)
        guard case .miss(let fetchA, _) = store.lookup(a, requestFields: HTTPFields(), now: t0),
              case .miss(let fetchB, _) = store.lookup(b, requestFields: HTTPFields(), now: t0) else {
            Issue.record("both keys miss")
            return
        }
        store.release(fetchA, hitForMissTTL: 10, now: t0)
        guard case .busy(let busy) = store.lookup(b, requestFields: HTTPFields(), now: t0) else {
            Issue.record("b's fetch still owns the slot")
            return
        }
        #expect(busy === fetchB)
        store.release(fetchB, hitForMissTTL: 10, passes: true, now: t0)
        guard case .hitForPass = store.lookup(b, requestFields: HTTPFields(), now: t0) else {
            Issue.record("b's own marker")
            return
        }
        guard case .miss = store.lookup(a, requestFields: HTTPFields(), now: t0) else {
            Issue.record("a is not under b's marker")
            return
        }
    }
}
