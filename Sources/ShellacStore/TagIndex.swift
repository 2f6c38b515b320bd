// TagIndex: which cache keys hold objects with a given tag (surrogate key), so purging a tag
// touches the objects tagged and not the whole store. Counts objects per (tag, key); an entry
// goes when its last object does. Locked on its own, always after a shard's lock.

import Synchronization

final class TagIndex: Sendable {
    private let entries = Mutex<[String: [CacheKey: Int]]>([:])

    func add(_ object: StoredObject) {
        entries.withLock { entries in
            for tag in object.tags { entries[tag, default: [:]][object.key, default: 0] += 1 }
        }
    }

    func remove(_ object: StoredObject) {
        entries.withLock { entries in
            for tag in object.tags {
                guard var keys = entries[tag], let count = keys[object.key] else { continue }
                keys[object.key] = count > 1 ? count - 1 : nil
                entries[tag] = keys.isEmpty ? nil : keys
            }
        }
    }

    /// The keys holding an object with any of `tags`.
    func keys(for tags: [String]) -> Set<CacheKey> {
        entries.withLock { entries in
            var keys = Set<CacheKey>()
            for tag in tags { keys.formUnion(entries[tag]?.keys ?? [:].keys) }
            return keys
        }
    }

    var tagCount: Int { entries.withLock { $0.count } }
}
