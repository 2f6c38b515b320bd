// LRUList: an intrusive doubly-linked list of stored objects, most recently used first.
// Owned by one store shard and only touched under that shard's lock.

/// Mutable links, guarded by the owning shard's lock (hence unchecked).
final class LRUNode: @unchecked Sendable {
    let object: StoredObject
    var previous: LRUNode?
    var next: LRUNode?
    /// When the object was last inserted or hit: eviction compares shard tails by it.
    var lastUsed: Double

    init(_ object: StoredObject, lastUsed: Double) {
        self.object = object
        self.lastUsed = lastUsed
    }
}

struct LRUList: Sendable {
    private(set) var head: LRUNode?
    private(set) var tail: LRUNode?
    private(set) var count = 0

    mutating func pushFront(_ node: LRUNode) {
        node.next = head
        node.previous = nil
        head?.previous = node
        head = node
        if tail == nil { tail = node }
        count += 1
    }

    mutating func remove(_ node: LRUNode) {
        if let previous = node.previous { previous.next = node.next } else { head = node.next }
        if let next = node.next { next.previous = node.previous } else { tail = node.previous }
        node.previous = nil
        node.next = nil
        count -= 1
    }

    mutating func moveToFront(_ node: LRUNode) {
        guard head !== node else { return }
        remove(node)
        pushFront(node)
    }
}
