// LRUList: an intrusive doubly-linked list of stored objects, most recently used first. The links
// live in the objects themselves (no node per object); owned by one store shard and only touched
// under that shard's lock.

struct LRUList: Sendable {
    private(set) var head: StoredObject?
    private(set) var tail: StoredObject?
    private(set) var count = 0

    mutating func pushFront(_ object: StoredObject) {
        object.older = head
        object.newer = nil
        head?.newer = object
        head = object
        if tail == nil { tail = object }
        count += 1
    }

    mutating func remove(_ object: StoredObject) {
        if let newer = object.newer { newer.older = object.older } else { head = object.older }
        if let older = object.older { older.newer = object.newer } else { tail = object.newer }
        object.newer = nil
        object.older = nil
        count -= 1
    }

    mutating func moveToFront(_ object: StoredObject) {
        guard head !== object else { return }
        remove(object)
        pushFront(object)
    }
}
