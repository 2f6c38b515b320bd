// TagIndex: which cache keys (by digest) hold objects with a given tag (surrogate key), so
// purging a tag touches the objects tagged and not the whole store. Counts objects per (tag, key);
// an entry goes when its last object does. Locked on its own, always after a shard's lock.

import Synchronization

final class TagIndex: Sendable {
    private let entries = Mutex<[String: [UInt64: Int]]>([:])

    func add(_ object: StoredObject) {
        entries.withLock { entries in
            for tag in object.tags { entries[tag, default: [:]][object.digest, default: 0] += 1 }
        }
    }

    func remove(_ object: StoredObject) {
        entries.withLock { entries in
            for tag in object.tags {
                guard var digests = entries[tag], let count = digests[object.digest] else { continue }
                digests[object.digest] = count > 1 ? count - 1 : nil
                entries[tag] = digests.isEmpty ? nil : digests
            }
        }
    }

    /// The digests of the keys holding an object with any of `tags`.
    func digests(for tags: [String]) -> Set<UInt64> {
        entries.withLock { entries in
            var digests = Set<UInt64>()
            for tag in tags { digests.formUnion(entries[tag]?.keys ?? [:].keys) }
            return digests
        }
    }

    var tagCount: Int { entries.withLock { $0.count } }
}
