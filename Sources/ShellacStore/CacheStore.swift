// CacheStore: the in-memory object store. Keys map to an object head holding the variants of
// one resource (Vary), the fetch in progress for it (coalescing) and a hit-for-miss marker.
// Sharded by key digest; each shard is a Mutex around its key table, LRU list and expiry heap,
// so event loops rarely contend. One memory budget covers all shards and hit-for-miss markers
// count against it as well: going past it evicts least recently used objects and the oldest
// markers. Pure: time arrives as `now`, no I/O.

import DequeModule
import HeapModule
import NIOCore
import ShellacHTTP
import Synchronization

public enum MissKind: Sendable, Equatable {
    /// Nothing stored under the key.
    case uriMiss
    /// Variants exist but none matches the request's Vary headers.
    case varyMiss
    /// A matching variant exists but is no longer fresh.
    case stale
}

public enum LookupResult: Sendable {
    /// A fresh variant: deliver it.
    case hit(StoredObject)
    /// A stale variant within its grace: deliver it at once. When `refresh` is set, no fetch for
    /// the key was running and the caller starts one in the background, publishing into it.
    case graceHit(StoredObject, refresh: BusyFetch?)
    /// The caller fetches and publishes into `fetch`; other requests for the key wait on it.
    case miss(BusyFetch, MissKind)
    /// A fetch for the key is running: wait on it.
    case busy(BusyFetch)
    /// The last response for the key was uncacheable: fetch alone, not coalesced.
    case hitForMiss
    /// The VCL said `return(pass(DURATION))` for the key: pass, for that long.
    case hitForPass
}

/// A ban's test, applied lazily: an object stored before the ban is checked against it the next
/// time a lookup finds it, and removed if it matches (Varnish's ban list).
public protocol BanTest: Sendable {
    /// `url` and `requestFields` are the looking-up request's (nil when there is none).
    func matches(_ object: StoredObject, url: String?, requestFields: HTTPFields?) -> Bool
    /// The expression as given (ban.list).
    var text: String { get }
    /// Whether it can be tested without a request (only obj.* conditions): the ban lurker tests
    /// such bans in the background, so they are dropped without waiting for lookups.
    var needsNoRequest: Bool { get }
}

extension BanTest {
    public var needsNoRequest: Bool { false }
}

public final class CacheStore: Sendable {
    struct Ban: Sendable {
        var id: Int
        var time: Double
        var test: any BanTest
    }

    struct ExpiryEntry: Comparable, Sendable {
        var at: Double
        var digest: UInt64
        static func < (a: Self, b: Self) -> Bool { a.at < b.at }
    }

    /// A marker's place in the eviction order: when it was set. One whose marker has ended (or
    /// was set again since) is skipped when it comes up.
    struct MarkerEntry: Sendable {
        var since: Double
        var digest: UInt64
    }

    struct Shard: Sendable {
        var heads = KeyTable()
        var lru = LRUList()
        /// When objects and markers may be removed. An object evicted, purged or replaced leaves
        /// its entry behind (finding it would cost a search or an index in every object), so the
        /// queue is rebuilt from what is stored once stale entries outnumber live ones.
        var expiry = Heap<ExpiryEntry>()
        /// The shard's markers, oldest first, and how many of the entries are still live.
        var markers = Deque<MarkerEntry>()
        var markerCount = 0

        func isLive(_ entry: MarkerEntry) -> Bool { heads[entry.digest]?.markerSince == entry.since }

        /// When the oldest live marker was set; drops the ended ones in front of it.
        mutating func oldestMarkerSince() -> Double? {
            while let first = markers.first {
                if isLive(first) { return first.since }
                markers.removeFirst()
            }
            return nil
        }

        /// Drops the entries of ended markers once they outnumber the live ones: markers that end
        /// by expiring leave theirs behind, and eviction may never come to pop them.
        mutating func compactMarkersIfStale() {
            guard markers.count > 2 * markerCount + 64 else { return }
            markers = Deque(markers.filter(isLive))
        }

        /// Rebuilds the expiry queue when it holds more than twice the entries the stored objects
        /// and markers need: linear in the shard's size, and needed at most once for as many
        /// inserts, so entries of evicted objects cannot pile up until their time comes.
        mutating func compactExpiryIfStale() {
            guard expiry.count > 2 * (lru.count + heads.count) + 64 else { return }
            var entries: [ExpiryEntry] = []
            entries.reserveCapacity(lru.count + heads.count)
            for (digest, head) in heads {
                for object in head.variants { entries.append(ExpiryEntry(at: object.removableAt, digest: digest)) }
                if let until = head.hitForMissUntil { entries.append(ExpiryEntry(at: until, digest: digest)) }
            }
            expiry = Heap(entries)
        }
    }

    /// One shard's lock; a class because `Mutex` cannot be copied into an array.
    final class LockedShard: Sendable {
        let mutex = Mutex(Shard())

        func withLock<R>(_ body: (inout Shard) -> R) -> R {
            mutex.withLock { body(&$0) }
        }
    }

    public let budget: Int
    public let maxWaiters: Int
    /// Variants kept per key; storing one more evicts the least recently stored.
    public let maxVariants: Int
    private let shards: [LockedShard]
    private let usedBytes = Atomic<Int>(0)
    private let objectCount = Atomic<Int>(0)
    private let evictedCount = Atomic<Int>(0)
    private let expiredCount = Atomic<Int>(0)
    private let bannedCount = Atomic<Int>(0)
    private let cutOffCount = Atomic<Int>(0)
    /// Bans newer than some stored object, oldest first; ids count up from 1.
    private let bans = Mutex<[Ban]>([])
    private let lastBanID = Atomic<Int>(0)

    /// - Parameters:
    ///   - budget: bytes available for stored objects (headers, bodies, overhead).
    ///   - maxWaiters: requests that may wait on one fetch; more fetch on their own.
    public init(budget: Int, maxWaiters: Int = 10_000, maxVariants: Int = 16, shardCount: Int = 16) {
        self.budget = budget
        self.maxWaiters = maxWaiters
        self.maxVariants = max(1, maxVariants)
        self.shards = (0..<max(1, shardCount)).map { _ in LockedShard() }
    }

    public var bytesStored: Int { usedBytes.load(ordering: .relaxed) }
    /// Entries waiting in the shards' expiry queues (objects and markers; tests watch it stay bounded).
    var pendingExpiries: Int { shards.reduce(0) { $0 + $1.withLock { $0.expiry.count } } }
    public var objects: Int { objectCount.load(ordering: .relaxed) }
    public var evictions: Int { evictedCount.load(ordering: .relaxed) }
    public var expired: Int { expiredCount.load(ordering: .relaxed) }
    /// Objects removed because a ban matched them.
    public var banned: Int { bannedCount.load(ordering: .relaxed) }
    /// Objects removed because the ban list outgrew the cutoff before they were checked.
    public var cutOff: Int { cutOffCount.load(ordering: .relaxed) }
    /// Every stored object's tags (surrogate keys) → the keys holding objects with that tag.
    private let tagIndex = TagIndex()

    /// Takes removed objects off the object count and the memory budget.
    private func forget(objects count: Int, bytes: Int) {
        usedBytes.add(-bytes, ordering: .relaxed)
        objectCount.add(-count, ordering: .relaxed)
    }

    /// A marker was set: it counts against the budget and joins the eviction order.
    private func markerSet(cost: Int, digest: UInt64, now: Double, in shard: inout Shard) {
        guard cost > 0 else { return }
        shard.markerCount += 1
        shard.markers.append(MarkerEntry(since: now, digest: digest))
        shard.compactMarkersIfStale()
        usedBytes.add(cost, ordering: .relaxed)
    }

    /// A marker ended (`cost` 0: there was none).
    private func markerEnded(cost: Int, in shard: inout Shard) {
        guard cost > 0 else { return }
        shard.markerCount -= 1
        usedBytes.add(-cost, ordering: .relaxed)
    }

    /// Live markers, in every shard.
    public var markers: Int { shards.reduce(0) { $0 + $1.withLock { $0.markerCount } } }
    /// Entries in the shards' marker queues (tests watch it stay bounded).
    var pendingMarkerEntries: Int { shards.reduce(0) { $0 + $1.withLock { $0.markers.count } } }

    /// Takes an object out of its shard's LRU list and the tag index (every removal goes through here).
    private func detach(_ object: StoredObject, from shard: inout Shard) {
        shard.lru.remove(object)
        if !object.tags.isEmpty { tagIndex.remove(object) }
    }

    /// Empties a head that turned out to hold another key's objects (two keys with one digest):
    /// the newcomer takes the slot, and the other key's variants count as evicted.
    private func displace(_ head: inout Head, shard: inout Shard) {
        markerEnded(cost: head.clearMarker(), in: &shard)
        let variants = head.variants
        for object in variants { detach(object, from: &shard) }
        if !variants.isEmpty {
            forget(objects: variants.count, bytes: variants.reduce(0) { $0 + $1.size })
            evictedCount.add(variants.count, ordering: .relaxed)
        }
        head = Head()
    }

    /// Removes (or, when `soft`, makes stale now while keeping them for their grace) every object
    /// carrying one of `tags`; returns how many. Costs in proportion to the objects tagged.
    @discardableResult
    public func purge(tags: [String], soft: Bool, now: Double) -> Int {
        var affected = 0
        for digest in tagIndex.digests(for: tags) {
            affected += shards[shard(for: digest)].withLock { shard -> Int in
                guard var head = shard.heads[digest] else { return 0 }
                var count = 0
                var freed = 0
                head.variants.removeAll { object in
                    guard object.tags.contains(where: tags.contains) else { return false }
                    count += 1
                    if soft {
                        object.expire(at: now)
                        return false
                    }
                    detach(object, from: &shard)
                    freed += object.size
                    return true
                }
                if !soft && count > 0 {
                    forget(objects: count, bytes: freed)
                }
                shard.heads[digest] = head.isEmpty ? nil : head
                return count
            }
        }
        return affected
    }

    /// Makes every variant of `key` stale now, kept for its grace (soft purge); returns how many.
    @discardableResult
    public func softPurge(_ key: CacheKey, now: Double) -> Int {
        shards[shard(for: key.digest)].withLock { shard in
            guard let head = shard.heads[key.digest], head.holds(key) else { return 0 }
            for object in head.variants { object.expire(at: now) }
            return head.variants.count
        }
    }

    /// Bans still kept (some object stored before them has not been checked yet).
    public var banList: [(id: Int, time: Double, text: String)] {
        bans.withLock { $0.map { ($0.id, $0.time, $0.test.text) } }
    }

    /// Adds a ban: every object stored until now that matches it is gone from the next lookup on.
    public func ban(_ test: any BanTest, now: Double) {
        bans.withLock { list in
            let id = lastBanID.add(1, ordering: .relaxed).newValue
            list.append(Ban(id: id, time: now, test: test))
        }
    }

    /// Whether a ban newer than the object matches it; records how far it has been checked.
    private func isBanned(_ object: StoredObject, url: String?, requestFields: HTTPFields?) -> Bool {
        let newest = lastBanID.load(ordering: .relaxed)
        let checked = object.bansChecked
        guard checked < newest else { return false }
        let list = bans.withLock { $0 }  // shares the list's storage: nothing is copied
        for ban in list[Self.firstBan(after: checked, in: list)...]
        where ban.test.matches(object, url: url, requestFields: requestFields) {
            return true
        }
        object.markBansChecked(upTo: newest)
        return false
    }

    /// The index of the first ban in `list` (oldest first) newer than ban `id`.
    private static func firstBan(after id: Int, in list: [Ban]) -> Int {
        var low = 0, high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].id <= id { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The ban lurker, then the ban list's trim; run with expiry.
    ///
    /// An object behind on bans is tested against the newer ones that need no request (obj.*),
    /// oldest first and at most `lurkerBatch` tests a run: a match removes it; otherwise it is
    /// marked checked up to the first ban that needs a request, which only a lookup can test.
    /// Past `cutoff` bans (0: no limit), objects not yet checked against the oldest of them are
    /// removed as if banned (Varnish's ban_cutoff): otherwise a long list makes a lookup of a
    /// cold object test all of it, and keeps every ban. Then the bans every object has been
    /// checked against are dropped.
    private func lurkAndTrimBans(cutoff: Int, lurkerBatch: Int) {
        guard lastBanID.load(ordering: .relaxed) > 0 else { return }
        let list = bans.withLock { $0 }
        guard let newest = list.last?.id else { return }
        let cutoffID = cutoff > 0 && list.count > cutoff ? list[list.count - cutoff - 1].id : 0
        let lurking = list.contains { $0.test.needsNoRequest }
        var tests = lurkerBatch
        var oldest = Int.max
        for index in shards.indices {
            shards[index].withLock { shard in
                var doomed: [(digest: UInt64, object: StoredObject, cut: Bool)] = []
                for (digest, head) in shard.heads {
                    for object in head.variants {
                        if object.bansChecked < cutoffID {
                            doomed.append((digest, object, true))
                        } else if lurking, tests > 0, object.bansChecked < newest,
                                  Self.lurkerFindsBan(for: object, in: list, tests: &tests) {
                            doomed.append((digest, object, false))
                        } else {
                            oldest = min(oldest, object.bansChecked)
                        }
                    }
                    // A fetch still running stores an object to be checked against bans since it began.
                    if let busy = head.busy, !busy.isFinished { oldest = min(oldest, busy.bansBefore) }
                }
                guard !doomed.isEmpty else { return }
                var cut = 0, freed = 0
                for (digest, object, isCut) in doomed {
                    guard var head = shard.heads[digest] else { continue }
                    head.variants.removeAll { $0 === object }
                    shard.heads[digest] = head.isEmpty ? nil : head
                    detach(object, from: &shard)
                    freed += object.size
                    if isCut { cut += 1 }
                }
                forget(objects: doomed.count, bytes: freed)
                cutOffCount.add(cut, ordering: .relaxed)
                bannedCount.add(doomed.count - cut, ordering: .relaxed)
            }
        }
        bans.withLock { $0.removeAll { $0.id <= oldest } }
    }

    /// Tests `object` against the bans in `list` newer than it that need no request, in order,
    /// up to the first that needs one; true when one matches. Otherwise the object is marked
    /// checked as far as it got.
    private static func lurkerFindsBan(for object: StoredObject, in list: [Ban], tests: inout Int) -> Bool {
        var checked = object.bansChecked
        for ban in list[firstBan(after: checked, in: list)...] {
            guard tests > 0, ban.test.needsNoRequest else { break }
            tests -= 1
            if ban.test.matches(object, url: nil, requestFields: nil) { return true }
            checked = ban.id
        }
        if checked > object.bansChecked { object.markBansChecked(upTo: checked) }
        return false
    }

    private func shard(for digest: UInt64) -> Int {
        // The table within the shard uses the digest's low bits; the shard takes high ones.
        Int((digest >> 40) % UInt64(shards.count))
    }

    /// Looks the key up for a request with `requestFields`. On a miss the caller becomes the fetcher.
    /// - Parameters:
    ///   - url: the request's URL, for bans on req.url.
    ///   - maxAge: req.ttl — a fresh object older than this is not a hit (none when 0 or less,
    ///     as in Varnish).
    ///   - maxGrace: req.grace — a stale object is served only this far into its grace.
    public func lookup(_ key: CacheKey, requestFields: HTTPFields, url: String? = nil, maxAge: Double? = nil,
                       maxGrace: Double? = nil, now: Double) -> LookupResult {
        let result: LookupResult = shards[shard(for: key.digest)].withLock { shard in
            var head = shard.heads[key.digest] ?? Head()
            let foreign = !head.holds(key)
            if foreign { displace(&head, shard: &shard) }
            let expired = removeExpired(&head, shard: &shard, now: now)
            let banned = removeBanned(&head, shard: &shard, url: url, requestFields: requestFields)
            // A hit changes nothing in the head unless something was removed on the way: then
            // the dictionary is not written (that would hash the key again).
            let headChanged = foreign || expired.changedHead || banned > 0
            var kind = MissKind.uriMiss
            if !head.variants.isEmpty { kind = .varyMiss }
            for object in head.variants where object.matches(requestFields) {
                let tooOld = maxAge.map { $0 > 0 && object.age(at: now) > $0 } ?? false
                if object.isFresh(at: now) && !tooOld {
                    object.lastUsed = now
                    shard.lru.moveToFront(object)
                    if headChanged { shard.heads[key.digest] = head }
                    return .hit(object)
                }
                let graceLimit = maxGrace.map { object.expiresAt + $0 } ?? .infinity
                if object.isInGrace(at: now) && now < graceLimit && !tooOld {
                    object.lastUsed = now
                    shard.lru.moveToFront(object)
                    if let busy = head.busy, !busy.isFinished {
                        shard.heads[key.digest] = head
                        return .graceHit(object, refresh: nil)
                    }
                    let refresh = BusyFetch(key: key, maxWaiters: maxWaiters, bansBefore: newestBan)
                    head.busy = refresh
                    shard.heads[key.digest] = head
                    return .graceHit(object, refresh: refresh)
                }
                kind = .stale
                break
            }
            // A request waits on a running fetch unless a ban came after that fetch began: what it
            // brings may be banned already, so this request fetches anew (Varnish's waiters look
            // the key up again when the fetch ends, and find its object banned); later requests
            // wait on the new fetch, the earlier ones stay with theirs.
            if let busy = head.busy, !busy.isFinished, busy.bansBefore >= newestBan {
                if headChanged { shard.heads[key.digest] = head }
                return .busy(busy)
            }
            if let until = head.hitForMissUntil {
                if now < until {
                    if headChanged { shard.heads[key.digest] = head }
                    return head.markerPasses ? .hitForPass : .hitForMiss
                }
                markerEnded(cost: head.clearMarker(), in: &shard)
            }
            let busy = BusyFetch(key: key, maxWaiters: maxWaiters, bansBefore: newestBan)
            head.busy = busy
            shard.heads[key.digest] = head
            return .miss(busy, kind)
        }
        switch result {
        case .hit(let object), .graceHit(let object, _): object.recordHit()
        default: break
        }
        return result
    }

    /// The id of the newest ban (0: none yet).
    public var newestBan: Int { lastBanID.load(ordering: .relaxed) }

    /// Stores the completed response of `fetch` (or of an uncoalesced fetch when `fetch` is nil),
    /// replacing the variant it matches. Returns false when it does not fit in the budget.
    /// - Parameter bansBefore: the newest ban when an uncoalesced fetch began (`newestBan`); a
    ///   shared fetch's busy object knows its own.
    @discardableResult
    public func insert(_ object: StoredObject, completing fetch: BusyFetch?, bansBefore: Int? = nil,
                       now: Double) -> Bool {
        guard object.size <= budget else {
            if let fetch { release(fetch, hitForMissTTL: nil, now: now) }
            return false
        }
        // Bans made before the fetch began do not apply to the object; those made while it ran do
        // (the next lookup checks them), as in Varnish.
        object.markBansChecked(upTo: fetch?.bansBefore ?? bansBefore ?? newestBan)
        fetch?.stored(as: object)  // its waiters were hits on it
        var replacedVariants = 0
        var droppedVariants = 0
        let freed: Int = shards[shard(for: object.digest)].withLock { shard in
            var head = shard.heads[object.digest] ?? Head()
            if !head.holds(keyOf: object) { displace(&head, shard: &shard) }
            if let fetch, head.busy === fetch { head.busy = nil }
            markerEnded(cost: head.clearMarker(), in: &shard)
            var freed = 0
            head.variants.removeAll { old in
                guard old.varyNames == object.varyNames, old.varyValues == object.varyValues else { return false }
                detach(old, from: &shard)
                freed += old.size
                replacedVariants += 1
                return true
            }
            object.lastUsed = now
            head.variants.prepend(object)
            shard.lru.pushFront(object)
            if !object.tags.isEmpty { tagIndex.add(object) }
            while head.variants.count > maxVariants, let oldest = head.variants.popLast() {
                detach(oldest, from: &shard)
                freed += oldest.size
                droppedVariants += 1
            }
            shard.expiry.insert(ExpiryEntry(at: object.removableAt, digest: object.digest))
            shard.heads[object.digest] = head
            shard.compactExpiryIfStale()
            return freed
        }
        if droppedVariants > 0 { evictedCount.add(droppedVariants, ordering: .relaxed) }
        objectCount.add(1 - replacedVariants - droppedVariants, ordering: .relaxed)
        usedBytes.add(object.size - freed, ordering: .relaxed)
        evictIfNeeded()
        return true
    }

    /// Ends `fetch` without storing: the response was uncacheable (then a marker is set for
    /// `hitForMissTTL` seconds: hit-for-pass when `passes`, else hit-for-miss) or the fetch failed
    /// (nil: no marker).
    public func release(_ fetch: BusyFetch, hitForMissTTL: Double?, passes: Bool = false, now: Double) {
        release(fetch.key, busy: fetch, hitForMissTTL: hitForMissTTL, passes: passes, now: now)
    }

    /// The same for a fetch of `key` that may have no busy object (a private one, which only
    /// renews or sets the marker).
    public func release(_ key: CacheKey, busy fetch: BusyFetch?, hitForMissTTL: Double?, passes: Bool = false,
                        now: Double) {
        let digest = key.digest
        let markerAdded: Bool = shards[shard(for: digest)].withLock { shard in
            let cost = shard.heads.update(digest) { head -> Int in
                // A head taken over by another key with the same digest is left to it.
                guard head.holds(key) else { return 0 }
                if let fetch, head.busy === fetch { head.busy = nil }
                guard let ttl = hitForMissTTL, ttl > 0 else { return 0 }
                // Every request under a hit-for-miss marker renews it. One expiry entry per marker
                // is enough: when it comes due, `expire` files a renewed marker again.
                return head.setMarker(for: key, until: now + ttl, passes: passes, now: now)
            }
            guard cost > 0, let ttl = hitForMissTTL else { return false }
            shard.expiry.insert(ExpiryEntry(at: now + ttl, digest: digest))
            markerSet(cost: cost, digest: digest, now: now, in: &shard)
            return true
        }
        if markerAdded { evictIfNeeded() }
    }

    /// Removes every object past ttl + grace + keep and expired markers, then runs the ban lurker
    /// (see lurkAndTrimBans); returns how many objects expired.
    @discardableResult
    public func expire(now: Double, banCutoff: Int = 0, lurkerBatch: Int = 100_000) -> Int {
        var removed = 0
        for index in shards.indices {
            removed += shards[index].withLock { shard in
                var count = 0
                while let first = shard.expiry.min, first.at <= now {
                    let entry = shard.expiry.removeMin()
                    guard var head = shard.heads[entry.digest] else { continue }
                    count += removeExpired(&head, shard: &shard, now: now).removed
                    if let until = head.hitForMissUntil, until > entry.at {
                        shard.expiry.insert(ExpiryEntry(at: until, digest: entry.digest))
                    }
                    shard.heads[entry.digest] = head.isEmpty ? nil : head
                }
                return count
            }
        }
        lurkAndTrimBans(cutoff: banCutoff, lurkerBatch: lurkerBatch)
        return removed
    }

    /// Removes every variant stored under `key` (RFC 9111 §4.4 invalidation); returns how many.
    /// A fetch in progress for the key is left to finish.
    @discardableResult
    public func invalidate(_ key: CacheKey) -> Int {
        let removed: [StoredObject] = shards[shard(for: key.digest)].withLock { shard in
            guard var head = shard.heads[key.digest], head.holds(key) else { return [] }
            let objects = Array(head.variants)
            for object in objects { detach(object, from: &shard) }
            head.variants.removeAll()
            markerEnded(cost: head.clearMarker(), in: &shard)
            shard.heads[key.digest] = head.isEmpty ? nil : head
            return objects
        }
        if !removed.isEmpty {
            forget(objects: removed.count, bytes: removed.reduce(0) { $0 + $1.size })
        }
        return removed.count
    }

    /// Removes every stored object for which `predicate` holds (purges by URL on every host,
    /// bans that need no request); returns how many. Walks the whole store, shard by shard.
    @discardableResult
    public func remove(where predicate: (StoredObject) -> Bool) -> Int {
        var removed: [StoredObject] = []
        for index in shards.indices {
            shards[index].withLock { shard in
                for (digest, var head) in shard.heads where !head.variants.isEmpty {
                    let before = head.variants.count
                    head.variants.removeAll { object in
                        guard predicate(object) else { return false }
                        detach(object, from: &shard)
                        removed.append(object)
                        return true
                    }
                    if head.variants.count != before { shard.heads[digest] = head.isEmpty ? nil : head }
                }
            }
        }
        if !removed.isEmpty {
            forget(objects: removed.count, bytes: removed.reduce(0) { $0 + $1.size })
        }
        return removed.count
    }

    /// Every stored object for which `predicate` holds (inspection; walks the whole store).
    public func objects(where predicate: (StoredObject) -> Bool) -> [StoredObject] {
        var found: [StoredObject] = []
        for index in shards.indices {
            shards[index].withLock { shard in
                for (_, head) in shard.heads {
                    for object in head.variants where predicate(object) { found.append(object) }
                }
            }
        }
        return found
    }

    /// The variant for this request that may stand in for a failed fetch (grace, stale-if-error).
    public func staleForError(_ key: CacheKey, requestFields: HTTPFields, now: Double) -> StoredObject? {
        variant(key, for: requestFields).flatMap { $0.isUsableOnError(at: now) ? $0 : nil }
    }

    /// The stored variant for this request that carries validators, fresh or not: a fetch for it
    /// can be conditional, and a 304 then refreshes it without moving the body again.
    public func revalidationCandidate(_ key: CacheKey, requestFields: HTTPFields) -> StoredObject? {
        variant(key, for: requestFields).flatMap { $0.etag != nil || $0.lastModified != nil ? $0 : nil }
    }

    /// The newest stored variant matching the request, whatever its freshness.
    private func variant(_ key: CacheKey, for requestFields: HTTPFields) -> StoredObject? {
        shards[shard(for: key.digest)].withLock { shard in
            guard let head = shard.heads[key.digest], head.holds(key) else { return nil }
            return head.variants.first {
                $0.matches(requestFields) && !isBanned($0, url: nil, requestFields: requestFields)
            }
        }
    }

    /// The variants stored under a key (for inspection and tests).
    public func variants(of key: CacheKey) -> [StoredObject] {
        shards[shard(for: key.digest)].withLock { shard in
            guard let head = shard.heads[key.digest], head.holds(key) else { return [] }
            return Array(head.variants)
        }
    }

    /// Returns how many variants went.
    @discardableResult
    private func removeBanned(_ head: inout Head, shard: inout Shard, url: String?,
                              requestFields: HTTPFields?) -> Int {
        var removed = 0
        var freed = 0
        head.removeVariants(where: { isBanned($0, url: url, requestFields: requestFields) }) { object in
            detach(object, from: &shard)
            freed += object.size
            removed += 1
        }
        if removed > 0 {
            forget(objects: removed, bytes: freed)
            bannedCount.add(removed, ordering: .relaxed)
        }
        return removed
    }

    /// Returns how many variants went, and whether the head changed at all (a lapsed marker).
    private func removeExpired(_ head: inout Head, shard: inout Shard, now: Double) -> (removed: Int, changedHead: Bool) {
        var removed = 0
        var freed = 0
        head.removeVariants(where: { $0.removableAt <= now }) { object in
            detach(object, from: &shard)
            freed += object.size
            removed += 1
        }
        var markerLapsed = false
        if let until = head.hitForMissUntil, until <= now {
            markerEnded(cost: head.clearMarker(), in: &shard)
            markerLapsed = true
        }
        if removed > 0 {
            forget(objects: removed, bytes: freed)
            expiredCount.add(removed, ordering: .relaxed)
        }
        return (removed, removed > 0 || markerLapsed)
    }

    /// Evicts least recently used objects and the oldest markers until the budget holds. Each
    /// shard keeps its own LRU list and marker queue; the victim is the oldest of the shards'
    /// LRU tails and first markers, so eviction order is global. A marker's age is the time it
    /// was set: one evicted early costs one request that fetches alone and sets it again.
    private func evictIfNeeded() {
        while usedBytes.load(ordering: .relaxed) > budget {
            var oldest: (index: Int, time: Double, isMarker: Bool)?
            for index in shards.indices {
                let (objectUse, markerSince) = shards[index].withLock { ($0.lru.tail?.lastUsed, $0.oldestMarkerSince()) }
                if let objectUse, oldest == nil || objectUse < oldest!.time {
                    oldest = (index, objectUse, false)
                }
                if let markerSince, oldest == nil || markerSince < oldest!.time {
                    oldest = (index, markerSince, true)
                }
            }
            guard let oldest else { return }
            shards[oldest.index].withLock { shard in
                if oldest.isMarker {
                    guard let entry = shard.markers.popFirst() else { return }
                    let cost = shard.heads.update(entry.digest) { $0.markerSince == entry.since ? $0.clearMarker() : 0 }
                    markerEnded(cost: cost, in: &shard)
                    return
                }
                guard let victim = shard.lru.tail else { return }
                detach(victim, from: &shard)
                if var head = shard.heads[victim.digest] {
                    head.variants.removeAll { $0 === victim }
                    shard.heads[victim.digest] = head.isEmpty ? nil : head
                }
                forget(objects: 1, bytes: victim.size)
                evictedCount.add(1, ordering: .relaxed)
            }
        }
    }
}
