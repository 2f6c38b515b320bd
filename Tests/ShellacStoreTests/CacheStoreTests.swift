// The store with an explicit clock: hits, variants, coalescing, hit-for-miss, expiry, LRU, budget.

import NIOCore
import ShellacHTTP
import Synchronization
import Testing
@testable import ShellacStore

let t0 = 1_800_000_000.0

func object(_ path: String, ttl: Double = 60, body: String = "body", vary: [String] = [],
            values: [String?] = [], at: Double = t0, grace: Double = 0, keep: Double = 0) -> StoredObject {
    StoredObject(key: CacheKey(parts: [path, "h"]), status: 200, reason: "OK",
                 fields: HTTPFields([("Content-Type", "text/plain")]), body: [ByteBuffer(string: body)],
                 varyNames: vary, varyValues: values, storedAt: at, initialAge: 0, ttl: ttl, grace: grace,
                 keep: keep)
}

func key(_ path: String) -> CacheKey { CacheKey(parts: [path, "h"]) }

@discardableResult
func expectMiss(_ store: CacheStore, _ path: String, fields: HTTPFields = HTTPFields(), now: Double = t0,
                kind: MissKind? = nil) -> BusyFetch? {
    guard case .miss(let fetch, let k) = store.lookup(key(path), requestFields: fields, url: path, now: now) else {
        Issue.record("expected a miss for \(path)")
        return nil
    }
    if let kind { #expect(k == kind) }
    return fetch
}

@Suite struct CacheStoreTests {
    @Test func missThenHit() throws {
        let store = CacheStore(budget: 1 << 20)
        let fetch = try #require(expectMiss(store, "/a", kind: .uriMiss))
        store.insert(object("/a"), completing: fetch, now: t0)
        guard case .hit(let hit) = store.lookup(key("/a"), requestFields: HTTPFields(), now: t0 + 1) else {
            Issue.record("expected a hit"); return
        }
        #expect(hit.hits == 1)
        #expect(hit.age(at: t0 + 5) == 5)
        #expect(store.objects == 1)
        #expect(store.bytesStored == hit.size)
    }

    @Test func storedFieldsAndBodyRoundTripThroughTheSingleBuffer() {
        let fields = HTTPFields([("Content-Type", "text/plain"), ("X-Empty", ""), ("Link", "<http://a:1/b>; rel=x"),
                                 ("ETag", "\"e\"")])
        let stored = StoredObject(key: key("/rt"), status: 200, reason: "OK", fields: fields,
                                  body: [ByteBuffer(string: "ab"), ByteBuffer(string: "cd")], varyNames: [],
                                  varyValues: [], storedAt: t0, initialAge: 0, ttl: 1, grace: 0, keep: 0)
        #expect(stored.fields == fields)
        #expect(String(buffer: stored.body) == "abcd")
        #expect(String(buffer: stored.headBlock)
            == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Empty: \r\nLink: <http://a:1/b>; rel=x\r\n"
            + "ETag: \"e\"\r\n")
        #expect(stored.etag == "\"e\"" && stored.contentLength == 4)
    }

    /// Field lines are found by place for vcl_deliver's unsets: every line of a name, read past
    /// when skipped; a name on a line past the 64th has no places to give.
    @Test func fieldLinesArePlacesThatReadsCanSkip() {
        let fields = HTTPFields([("Server", "a"), ("X-Kept", "1"), ("server", "b"), ("ETag", "\"e\"")])
        let stored = StoredObject(key: key("/lines"), status: 200, reason: "OK", fields: fields,
                                  body: [ByteBuffer(string: "x")], varyNames: [], varyValues: [], storedAt: t0,
                                  initialAge: 0, ttl: 1, grace: 0, keep: 0)
        let server = HTTPField.nameBit("Server")
        #expect(stored.fieldLines(named: "SERVER", nameBit: server) == FieldLines(lines: 0b0101))
        #expect(stored.fieldLines(named: "X-Absent", nameBit: HTTPField.nameBit("X-Absent")) == FieldLines(lines: 0))
        #expect(stored.field(named: "Server", nameBit: server, skipping: FieldLines(lines: 0b0001)) == "b")
        #expect(stored.field(named: "Server", nameBit: server, skipping: FieldLines(lines: 0b0101)) == nil)
        #expect(!stored.hasField(named: "Server", nameBit: server, skipping: FieldLines(lines: 0b0101)))
        #expect(stored.fields(skipping: FieldLines(lines: 0b0101)) == HTTPFields([("X-Kept", "1"), ("ETag", "\"e\"")]))

        let long = HTTPFields((0..<70).map { ("X-\($0)", "v") } + [("Server", "late")])
        let longStored = StoredObject(key: key("/long"), status: 200, reason: "OK", fields: long,
                                      body: [ByteBuffer(string: "x")], varyNames: [], varyValues: [], storedAt: t0,
                                      initialAge: 0, ttl: 1, grace: 0, keep: 0)
        #expect(longStored.fieldLines(named: "Server", nameBit: server) == nil)
        #expect(longStored.fieldLines(named: "X-3", nameBit: HTTPField.nameBit("X-3")) == FieldLines(lines: 0b1000))
    }

    @Test func aSoftPurgeIsNeverLaterThanItsMoment() {
        // Moments after storedAt are 32-bit floats; the purge must not round up past `now`.
        for offset in [0.0, 1e-9, 0.1, 1.0 / 3.0, 86_399.999, 31_536_000.7] {
            let stored = object("/p", ttl: 1e9)
            stored.expire(at: t0 + offset)
            #expect(!stored.isFresh(at: t0 + offset) && stored.expiresAt <= t0 + offset, "\(offset)")
            #expect(stored.expiresAt > t0 + offset - 4, "about when asked: \(offset)")
        }
        let never = object("/n", ttl: 10)
        #expect(never.expiresAt == t0 + 10)
    }

    @Test func concurrentMissesCoalesceOnOneFetch() throws {
        let store = CacheStore(budget: 1 << 20)
        let fetch = try #require(expectMiss(store, "/a"))
        for _ in 0..<5 {
            guard case .busy(let waiting) = store.lookup(key("/a"), requestFields: HTTPFields(), now: t0) else {
                Issue.record("expected busy"); return
            }
            #expect(waiting === fetch)
        }
        store.release(fetch, hitForMissTTL: nil, now: t0)
        expectMiss(store, "/a")
    }

    @Test func hitForMissMarkerLastsItsTTL() throws {
        let store = CacheStore(budget: 1 << 20)
        let fetch = try #require(expectMiss(store, "/a"))
        store.release(fetch, hitForMissTTL: 120, now: t0)
        guard case .hitForMiss = store.lookup(key("/a"), requestFields: HTTPFields(), now: t0 + 119) else {
            Issue.record("expected hit-for-miss"); return
        }
        expectMiss(store, "/a", now: t0 + 120)
    }

    @Test func aRenewedMarkerKeepsOneExpiryEntryAndStillExpires() throws {
        let store = CacheStore(budget: 1 << 20)
        store.release(try #require(expectMiss(store, "/a")), hitForMissTTL: 120, now: t0)
        // Every request under the marker fetches alone and renews it.
        for second in 1...1_000 {
            store.release(BusyFetch(key: key("/a"), maxWaiters: 1), hitForMissTTL: 120, now: t0 + Double(second))
        }
        #expect(store.pendingExpiries == 1)
        store.expire(now: t0 + 500)
        #expect(store.pendingExpiries == 1, "filed again for the renewed end")
        guard case .hitForMiss = store.lookup(key("/a"), requestFields: HTTPFields(), now: t0 + 1_000) else {
            Issue.record("the marker stands until 120 s after its last renewal"); return
        }
        store.expire(now: t0 + 1_120)
        #expect(store.pendingExpiries == 0)
        expectMiss(store, "/a", now: t0 + 1_121, kind: .uriMiss)
    }

    @Test func evictedObjectsDoNotLeaveTheirExpiryEntriesBehind() {
        // Room for about 20 objects; 5,000 inserts with an hour's TTL evict almost all of them.
        let store = CacheStore(budget: 20 * (object("/x").size + 8), shardCount: 2)
        for index in 0..<5_000 {
            store.insert(object("/o\(index)", ttl: 3_600), completing: nil, now: t0 + Double(index) / 1_000)
        }
        #expect(store.objects <= 20 && store.evictions >= 4_980)
        #expect(store.pendingExpiries <= 2 * 2 * store.objects + 2 * 64, "\(store.pendingExpiries) entries")
        // What is still stored still expires on time.
        let stored = store.objects
        #expect(stored > 0)
        #expect(store.expire(now: t0 + 3_601) == stored)
        #expect(store.objects == 0 && store.pendingExpiries == 0)
    }

    @Test func markersCountAgainstTheBudgetUntilTheyEnd() throws {
        let store = CacheStore(budget: 1 << 20)
        let cost = CacheStore.Head.markerCost(key("/a"))
        store.release(try #require(expectMiss(store, "/a")), hitForMissTTL: 120, now: t0)
        #expect(store.bytesStored == cost && store.markers == 1)
        store.release(BusyFetch(key: key("/a"), maxWaiters: 1), hitForMissTTL: 120, now: t0 + 1)
        #expect(store.bytesStored == cost, "a renewal costs nothing more")
        store.insert(object("/a"), completing: nil, now: t0 + 2)  // a cacheable answer replaces it
        #expect(store.bytesStored == object("/a").size && store.markers == 0)
        store.invalidate(key("/a"))
        store.release(try #require(expectMiss(store, "/b")), hitForMissTTL: 120, now: t0)
        store.release(try #require(expectMiss(store, "/c")), hitForMissTTL: 120, now: t0)
        store.invalidate(key("/b"))  // a purge takes the marker too
        #expect(store.markers == 1)
        store.expire(now: t0 + 120)
        #expect(store.bytesStored == 0 && store.markers == 0)
    }

    @Test func uniqueUncacheableURLsCannotGrowTheStorePastItsBudget() throws {
        // One marker per URL: a client adding a random query to an uncacheable page made one
        // each time, outside the budget, for uncacheable_ttl (a million in 20 s at full speed).
        let budget = 100 * CacheStore.Head.markerCost(key("/u0000"))
        let store = CacheStore(budget: budget, shardCount: 4)
        store.insert(object("/kept", ttl: 3_600), completing: nil, now: t0)
        for index in 0..<5_000 {
            let path = "/u" + String(1_000_000 + index).dropFirst(3)
            let now = t0 + 1 + Double(index) / 1_000
            store.release(try #require(expectMiss(store, path, now: now)), hitForMissTTL: 120, now: now)
            #expect(store.bytesStored <= budget)
        }
        #expect(store.markers >= 90 && store.markers <= 100)
        #expect(store.pendingMarkerEntries <= 2 * store.markers + 4 * 64)
        // The oldest went first (the object, used before any marker was set, among them);
        // the newest still stand.
        expectMiss(store, "/kept", now: t0 + 6)
        expectMiss(store, "/u0000", now: t0 + 6)
        guard case .hitForMiss = store.lookup(key("/u4999"), requestFields: HTTPFields(), now: t0 + 6) else {
            Issue.record("the newest marker was evicted"); return
        }
    }

    @Test func endedMarkersDoNotPileUpInTheEvictionQueue() throws {
        let store = CacheStore(budget: 1 << 20, shardCount: 1)
        for index in 0..<10_000 {
            let now = t0 + Double(index)
            store.release(try #require(expectMiss(store, "/m", now: now)), hitForMissTTL: 0.5, now: now)
        }
        #expect(store.markers == 1)
        #expect(store.pendingMarkerEntries <= 2 + 64)
    }

    @Test func cacheableResponseReplacesTheHitForMissMarker() throws {
        let store = CacheStore(budget: 1 << 20)
        store.release(try #require(expectMiss(store, "/a")), hitForMissTTL: 120, now: t0)
        store.insert(object("/a"), completing: nil, now: t0 + 1)
        guard case .hit = store.lookup(key("/a"), requestFields: HTTPFields(), now: t0 + 2) else {
            Issue.record("expected a hit"); return
        }
    }

    @Test func variantsAreSelectedByVary() throws {
        let store = CacheStore(budget: 1 << 20)
        let gzip = HTTPFields([("Accept-Encoding", "gzip")])
        let fetch = try #require(expectMiss(store, "/v", fields: gzip))
        store.insert(object("/v", body: "zipped", vary: ["accept-encoding"], values: ["gzip"]), completing: fetch,
                     now: t0)
        guard case .hit(let hit) = store.lookup(key("/v"), requestFields: gzip, now: t0) else {
            Issue.record("expected a hit"); return
        }
        #expect(String(buffer: hit.body) == "zipped")
        let plain = try #require(expectMiss(store, "/v", kind: .varyMiss))
        store.insert(object("/v", body: "plain", vary: ["accept-encoding"], values: [nil]), completing: plain, now: t0)
        guard case .hit(let other) = store.lookup(key("/v"), requestFields: HTTPFields(), now: t0) else {
            Issue.record("expected a hit"); return
        }
        #expect(String(buffer: other.body) == "plain")
        #expect(store.variants(of: key("/v")).count == 2)
        // The same variant again replaces, not adds.
        store.insert(object("/v", body: "plain2", vary: ["accept-encoding"], values: [nil]), completing: nil, now: t0)
        #expect(store.variants(of: key("/v")).count == 2)
        #expect(store.objects == 2)
    }

    @Test func variantsPerKeyAreCapped() throws {
        let store = CacheStore(budget: 1 << 20, maxVariants: 2)
        for (index, lang) in ["en", "fr", "de"].enumerated() {
            let fields = HTTPFields([("X-Lang", lang)])
            store.insert(object("/v", body: lang, vary: ["x-lang"], values: [lang]),
                         completing: try #require(expectMiss(store, "/v", fields: fields)) as BusyFetch, now: t0 + Double(index))
        }
        #expect(store.variants(of: key("/v")).map { String(buffer: $0.body) } == ["de", "fr"])
        #expect(store.objects == 2)
        #expect(store.evictions == 1)
        #expect(store.bytesStored == store.variants(of: key("/v")).reduce(0) { $0 + $1.size })
    }

    @Test func freshnessTransitionsAndExpiry() throws {
        let store = CacheStore(budget: 1 << 20)
        store.insert(object("/e", ttl: 10, grace: 5, keep: 5), completing: try #require(expectMiss(store, "/e")) as BusyFetch,
                     now: t0)
        guard case .hit = store.lookup(key("/e"), requestFields: HTTPFields(), now: t0 + 9.9) else {
            Issue.record("fresh until ttl"); return
        }
        // Stale within grace: served, and exactly one caller is handed the refresh.
        guard case .graceHit(_, let refresh?) = store.lookup(key("/e"), requestFields: HTTPFields(), now: t0 + 10)
        else { Issue.record("grace hit with a refresh"); return }
        guard case .graceHit(_, nil) = store.lookup(key("/e"), requestFields: HTTPFields(), now: t0 + 11) else {
            Issue.record("grace hit while the refresh runs"); return
        }
        // A failed refresh keeps the stale object; the next grace hit refreshes again.
        store.release(refresh, hitForMissTTL: nil, now: t0 + 12)
        guard case .graceHit(_, let again?) = store.lookup(key("/e"), requestFields: HTTPFields(), now: t0 + 12)
        else { Issue.record("a new refresh after a failed one"); return }
        store.release(again, hitForMissTTL: nil, now: t0 + 13)
        // Past grace, within keep: a miss (revalidation candidates stay stored).
        let stale = try #require(expectMiss(store, "/e", now: t0 + 15, kind: .stale))
        store.release(stale, hitForMissTTL: nil, now: t0 + 15)
        #expect(store.expire(now: t0 + 19.9) == 0, "kept through grace and keep")
        #expect(store.objects == 1)
        #expect(store.expire(now: t0 + 20) == 1)
        #expect(store.objects == 0)
        #expect(store.bytesStored == 0)
        #expect(store.expired == 1)
        expectMiss(store, "/e", now: t0 + 21, kind: .uriMiss)
    }

    @Test func staleForErrorHonoursGraceAndStaleIfError() throws {
        let store = CacheStore(budget: 1 << 20)
        let sie = StoredObject(key: key("/s"), status: 200, reason: "OK", fields: HTTPFields(), body: [],
                               varyNames: [], varyValues: [], storedAt: t0, initialAge: 0, ttl: 10, grace: 5,
                               keep: 0, staleIfError: 60)
        store.insert(sie, completing: try #require(expectMiss(store, "/s")) as BusyFetch, now: t0)
        #expect(store.staleForError(key("/s"), requestFields: HTTPFields(), now: t0 + 12) === sie, "in grace")
        #expect(store.staleForError(key("/s"), requestFields: HTTPFields(), now: t0 + 69) === sie, "stale-if-error")
        #expect(store.staleForError(key("/s"), requestFields: HTTPFields(), now: t0 + 70) == nil)
        #expect(sie.removableAt == t0 + 70, "kept as long as it may stand in")
    }

    @Test func leastRecentlyUsedIsEvictedFirst() throws {
        let one = object("/1").size
        let store = CacheStore(budget: one * 3 + 10)
        for (index, path) in ["/1", "/2", "/3"].enumerated() {
            store.insert(object(path), completing: try #require(expectMiss(store, path)) as BusyFetch, now: t0 + Double(index))
        }
        _ = store.lookup(key("/1"), requestFields: HTTPFields(), now: t0 + 5)  // /2 is now the oldest
        store.insert(object("/4"), completing: try #require(expectMiss(store, "/4")) as BusyFetch, now: t0 + 6)
        #expect(store.evictions == 1)
        #expect(store.objects == 3)
        #expect(store.bytesStored <= store.budget)
        expectMiss(store, "/2", kind: .uriMiss)
        guard case .hit = store.lookup(key("/1"), requestFields: HTTPFields(), now: t0) else {
            Issue.record("/1 was used recently"); return
        }
    }

    @Test func objectLargerThanTheBudgetIsNotStored() throws {
        let store = CacheStore(budget: 100)
        let fetch = try #require(expectMiss(store, "/big"))
        #expect(!store.insert(object("/big", body: String(repeating: "x", count: 200)), completing: fetch, now: t0))
        #expect(store.objects == 0)
        expectMiss(store, "/big", kind: .uriMiss)
    }
}

@Suite struct BusyFetchTests {
    final class Recorder: Sendable {
        let events = Mutex<[String]>([])
        func record(_ event: FetchEvent) {
            events.withLock {
                switch event {
                case .head(let h): $0.append("head \(h.status)")
                case .body(let b): $0.append("body \(String(buffer: b))")
                case .end: $0.append("end")
                case .failed(let why): $0.append("failed \(why.status) \(why.reason)")
                }
            }
        }
        var all: [String] { events.withLock { $0 } }
    }

    let head = FetchedHead(status: 200, reason: "OK", fields: HTTPFields(), contentLength: nil, cacheable: true)

    @Test func lateSubscriberGetsReplayThenLiveEvents() throws {
        let fetch = BusyFetch(key: key("/x"), maxWaiters: 10)
        let early = Recorder()
        _ = fetch.subscribe(isWaiter: false) { early.record($0) }
        fetch.publishHead(head)
        fetch.publishBody(ByteBuffer(string: "a"))
        let late = Recorder()
        let (_, replay) = try #require(fetch.subscribe { late.record($0) })
        replay.forEach(late.record)
        fetch.publishBody(ByteBuffer(string: "b"))
        fetch.publishEnd()
        #expect(early.all == ["head 200", "body a", "body b", "end"])
        #expect(late.all == early.all)
        fetch.publishBody(ByteBuffer(string: "ignored"))
        #expect(late.all.count == 4)
    }

    @Test func stopRetainingDropsTheBodyButKeepsLiveDelivery() throws {
        let fetch = BusyFetch(key: key("/x"), maxWaiters: 10)
        let live = Recorder()
        _ = fetch.subscribe(isWaiter: false) { live.record($0) }
        fetch.publishHead(head)
        fetch.publishBody(ByteBuffer(string: "a"))
        fetch.stopRetainingBody()
        fetch.publishBody(ByteBuffer(string: "b"))
        let late = Recorder()
        let (_, replay) = try #require(fetch.subscribe { late.record($0) })
        replay.forEach(late.record)
        #expect(late.all == ["head 200"], "nothing of the body is held any more")
        #expect(live.all == ["head 200", "body a", "body b"])
    }

    @Test func waitingListIsBounded() {
        let fetch = BusyFetch(key: key("/x"), maxWaiters: 2)
        #expect(fetch.subscribe { _ in } != nil)
        #expect(fetch.subscribe { _ in } != nil)
        #expect(fetch.subscribe { _ in } == nil)
        #expect(fetch.subscribe(isWaiter: false) { _ in } != nil, "the fetcher itself is not counted")
    }

    @Test func failureReachesEveryone() {
        let fetch = BusyFetch(key: key("/x"), maxWaiters: 10)
        let a = Recorder(), b = Recorder()
        _ = fetch.subscribe { a.record($0) }
        _ = fetch.subscribe { b.record($0) }
        fetch.publishFailure(FetchFailure(status: 503, reason: "reset"))
        #expect(a.all == ["failed 503 reset"])
        #expect(b.all == ["failed 503 reset"])
    }
}

/// req.ttl and req.grace limit what a lookup accepts; bans remove matching objects lazily.
@Suite struct LookupLimitAndBanTests {
    @Test func requestTTLAndGraceLimitTheLookup() {
        let store = CacheStore(budget: 1 << 20)
        store.insert(object("/a", ttl: 10, grace: 60), completing: nil, now: t0)
        guard case .hit = store.lookup(key("/a"), requestFields: HTTPFields(), maxAge: 5, now: t0 + 4) else {
            Issue.record("younger than req.ttl: a hit"); return
        }
        guard case .hit = store.lookup(key("/a"), requestFields: HTTPFields(), maxAge: 0, now: t0 + 4) else {
            Issue.record("req.ttl of 0s is no limit, as in Varnish: a hit"); return
        }
        guard case .miss(let fetch, .stale) = store.lookup(key("/a"), requestFields: HTTPFields(), maxAge: 5,
                                                           now: t0 + 6) else {
            Issue.record("older than req.ttl: a miss"); return
        }
        store.release(fetch, hitForMissTTL: nil, now: t0 + 6)
        guard case .miss(let again, .stale) = store.lookup(key("/a"), requestFields: HTTPFields(), maxGrace: 5,
                                                           now: t0 + 20) else {
            Issue.record("past req.grace: a miss"); return
        }
        store.release(again, hitForMissTTL: nil, now: t0 + 20)
        guard case .graceHit = store.lookup(key("/a"), requestFields: HTTPFields(), now: t0 + 20) else {
            Issue.record("within the object's own grace: a grace hit"); return
        }
    }

    struct URLPrefixBan: BanTest {
        let prefix: String
        var text: String { "req.url ~ ^\(prefix)" }
        func matches(_ object: StoredObject, url: String?, requestFields: HTTPFields?) -> Bool {
            url?.hasPrefix(prefix) ?? false
        }
    }

    @Test func bansRemoveOlderMatchingObjectsAtLookup() {
        let store = CacheStore(budget: 1 << 20)
        store.insert(object("/news/1"), completing: nil, now: t0)
        store.insert(object("/about"), completing: nil, now: t0)
        store.ban(URLPrefixBan(prefix: "/news"), now: t0 + 1)
        store.insert(object("/news/2"), completing: nil, now: t0 + 2)  // newer than the ban: untouched
        #expect(store.banList.count == 1)
        expectMiss(store, "/news/1", now: t0 + 3)
        #expect(store.banned == 1)
        guard case .hit = store.lookup(key("/news/2"), requestFields: HTTPFields(), url: "/news/2", now: t0 + 3),
              case .hit = store.lookup(key("/about"), requestFields: HTTPFields(), url: "/about", now: t0 + 3) else {
            Issue.record("objects the ban does not cover stay"); return
        }
        #expect(store.objects == 2)
        store.expire(now: t0 + 4)
        #expect(store.banList.isEmpty, "every object has been checked against the ban: it is dropped")
    }

    /// An obj.* ban (as `obj.http.X-URL ~ ^/news`): testable without a request.
    struct StoredURLBan: BanTest {
        let prefix: String
        var text: String { "obj.http.X-URL ~ ^\(prefix)" }
        var needsNoRequest: Bool { true }
        func matches(_ object: StoredObject, url: String?, requestFields: HTTPFields?) -> Bool {
            object.key.firstPart.hasPrefix(prefix)
        }
    }

    @Test func theLurkerAppliesObjectBansWithoutWaitingForLookups() {
        let store = CacheStore(budget: 1 << 20)
        store.insert(object("/news/1"), completing: nil, now: t0)
        store.insert(object("/about"), completing: nil, now: t0)
        store.ban(StoredURLBan(prefix: "/news"), now: t0 + 1)
        store.expire(now: t0 + 2)
        #expect(store.objects == 1 && store.banned == 1)
        #expect(store.banList.isEmpty, "every object was tested in the background: the ban is done")
    }

    @Test func theLurkerStopsAtABanOnlyALookupCanTest() {
        let store = CacheStore(budget: 1 << 20)
        store.insert(object("/about"), completing: nil, now: t0)
        store.ban(StoredURLBan(prefix: "/news"), now: t0 + 1)
        store.ban(URLPrefixBan(prefix: "/old"), now: t0 + 2)  // needs the request's URL
        store.ban(StoredURLBan(prefix: "/about"), now: t0 + 3)
        store.expire(now: t0 + 4)
        #expect(store.objects == 1, "the ban after the request ban waits for it")
        #expect(store.banList.map(\.text) == ["req.url ~ ^/old", "obj.http.X-URL ~ ^/about"],
                "the first ban was tested against everything and is dropped")
        expectMiss(store, "/about", now: t0 + 5)  // a lookup tests the rest, in order
        #expect(store.banned == 1)
    }

    @Test func theLurkerDoesAtMostItsBatchOfTestsARun() {
        let store = CacheStore(budget: 1 << 20, shardCount: 1)
        for index in 0..<10 { store.insert(object("/news/\(index)"), completing: nil, now: t0) }
        store.ban(StoredURLBan(prefix: "/news"), now: t0 + 1)
        store.expire(now: t0 + 2, lurkerBatch: 3)
        #expect(store.objects == 7)
        store.expire(now: t0 + 3, lurkerBatch: 3)
        #expect(store.objects == 4 && store.banList.count == 1)
        store.expire(now: t0 + 4, lurkerBatch: 10)
        #expect(store.objects == 0 && store.banList.isEmpty)
    }

    @Test func pastTheCutoffObjectsNotCheckedAgainstTheOldestBansGo() {
        let store = CacheStore(budget: 1 << 20)
        store.insert(object("/cold"), completing: nil, now: t0)
        store.insert(object("/hot"), completing: nil, now: t0)
        for index in 1...10 {
            store.ban(URLPrefixBan(prefix: "/gone\(index)"), now: t0 + Double(index))
            // /hot is requested after every ban, so it is always checked against all of them.
            guard case .hit = store.lookup(key("/hot"), requestFields: HTTPFields(), url: "/hot", now: t0 + Double(index)) else {
                Issue.record("/hot matches no ban"); return
            }
        }
        store.insert(object("/new"), completing: nil, now: t0 + 11)
        store.expire(now: t0 + 12, banCutoff: 3)
        #expect(store.cutOff == 1 && store.objects == 2, "only /cold was behind the cutoff")
        #expect(store.banList.isEmpty, "everything left is checked against every ban")
        expectMiss(store, "/cold", now: t0 + 13)
        guard case .hit = store.lookup(key("/hot"), requestFields: HTTPFields(), url: "/hot", now: t0 + 13) else {
            Issue.record("/hot stays"); return
        }
    }

    @Test func aFetchThatBeganBeforeTheCutoffKeepsTheBansMadeSince() {
        let store = CacheStore(budget: 1 << 20)
        guard case .miss(let fetch, _) = store.lookup(key("/slow"), requestFields: HTTPFields(), url: "/slow",
                                                      now: t0) else {
            Issue.record("a miss"); return
        }
        for index in 1...10 { store.ban(URLPrefixBan(prefix: "/gone\(index)"), now: t0 + Double(index)) }
        store.ban(URLPrefixBan(prefix: "/slow"), now: t0 + 11)
        store.expire(now: t0 + 12, banCutoff: 3)
        #expect(store.banList.count == 11, "what the fetch stores must still meet every ban made since it began")
        store.insert(object("/slow"), completing: fetch, now: t0 + 13)
        expectMiss(store, "/slow", now: t0 + 14)
    }

    /// A ban made while a fetch runs applies to what it stores (the backend may have answered
    /// before the ban), as in Varnish; the ban is kept until that fetch is done. Objects were
    /// marked checked against every ban made before they were stored, so a ban issued between a
    /// miss and the end of its fetch never removed them.
    @Test func aBanMadeWhileAFetchRunsAppliesToWhatItStores() {
        let store = CacheStore(budget: 1 << 20)
        store.ban(URLPrefixBan(prefix: "/old"), now: t0)
        guard case .miss(let fetch, _) = store.lookup(key("/news/1"), requestFields: HTTPFields(), url: "/news/1",
                                                      now: t0 + 1) else {
            Issue.record("a miss"); return
        }
        store.ban(URLPrefixBan(prefix: "/news"), now: t0 + 2)
        store.expire(now: t0 + 3)
        #expect(store.banList.map(\.text) == ["req.url ~ ^/news"], "kept while a fetch that began before it runs")
        store.insert(object("/news/1"), completing: fetch, now: t0 + 4)
        expectMiss(store, "/news/1", now: t0 + 5)

        // An uncoalesced fetch says when it began.
        let began = store.newestBan
        store.ban(URLPrefixBan(prefix: "/news"), now: t0 + 6)
        store.insert(object("/news/2"), completing: nil, bansBefore: began, now: t0 + 7)
        expectMiss(store, "/news/2", now: t0 + 8)
        // A ban made before the fetch began does not apply to it.
        guard case .miss(let later, _) = store.lookup(key("/news/3"), requestFields: HTTPFields(), url: "/news/3",
                                                      now: t0 + 9) else {
            Issue.record("a miss"); return
        }
        store.insert(object("/news/3"), completing: later, now: t0 + 10)
        guard case .hit = store.lookup(key("/news/3"), requestFields: HTTPFields(), url: "/news/3", now: t0 + 11) else {
            Issue.record("stored after every ban: a hit"); return
        }
    }

    /// A request arriving after a ban does not wait on a fetch that began before it (what that
    /// brings may be banned): it fetches anew, and requests after it wait on its fetch.
    @Test func aRequestAfterABanDoesNotWaitOnAnEarlierFetch() {
        let store = CacheStore(budget: 1 << 20)
        guard case .miss(let before, _) = store.lookup(key("/p"), requestFields: HTTPFields(), url: "/p", now: t0) else {
            Issue.record("a miss"); return
        }
        guard case .busy(let same) = store.lookup(key("/p"), requestFields: HTTPFields(), url: "/p", now: t0),
              same === before else {
            Issue.record("no ban since: it waits"); return
        }
        store.ban(URLPrefixBan(prefix: "/p"), now: t0 + 1)
        guard case .miss(let after, _) = store.lookup(key("/p"), requestFields: HTTPFields(), url: "/p", now: t0 + 2),
              after !== before else {
            Issue.record("after the ban: a fetch of its own"); return
        }
        guard case .busy(let waitsOn) = store.lookup(key("/p"), requestFields: HTTPFields(), url: "/p", now: t0 + 3),
              waitsOn === after else {
            Issue.record("later requests wait on the new fetch"); return
        }
        store.insert(object("/p", body: "old"), completing: before, now: t0 + 4)
        store.insert(object("/p", body: "new"), completing: after, now: t0 + 5)
        guard case .hit(let stored) = store.lookup(key("/p"), requestFields: HTTPFields(), url: "/p", now: t0 + 6) else {
            Issue.record("the new fetch's object"); return
        }
        #expect(String(buffer: stored.body) == "new")
    }
}
