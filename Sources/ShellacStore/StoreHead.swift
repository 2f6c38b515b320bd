// StoreHead: what the store keeps under one key: the variants of the resource (Vary), the fetch
// in progress for it (coalescing) and a hit-for-miss or hit-for-pass marker. There is one per
// cached key, so its size counts: nearly every key holds exactly one variant and nothing else,
// and that case is one word (the variant); anything more lives in a box most keys lack. A value
// type: the box is copied before a change when it is shared.

extension CacheStore {
    struct Head: Sendable {
        private enum Storage {
            case empty
            case single(LRUNode)
            case boxed(Box)
        }

        private var storage = Storage.empty

        /// Everything, when there is more than one variant. Mutable, but only ever changed while
        /// uniquely owned.
        private final class Box: @unchecked Sendable {
            var firstVariant: LRUNode?
            var otherVariants: [LRUNode] = []
            var busy: BusyFetch?
            var hitForMissUntil: Double?
            var markerPasses = false

            /// Only a first variant (or nothing): the box is not needed.
            var holdsOnlyFirst: Bool {
                otherVariants.isEmpty && busy == nil && hitForMissUntil == nil && !markerPasses
            }

            func copy() -> Box {
                let copy = Box()
                copy.firstVariant = firstVariant
                copy.otherVariants = otherVariants
                copy.busy = busy
                copy.hitForMissUntil = hitForMissUntil
                copy.markerPasses = markerPasses
                return copy
            }
        }

        private var box: Box? {
            if case .boxed(let box) = storage { return box }
            return nil
        }

        private var firstVariant: LRUNode? {
            switch storage {
            case .empty: return nil
            case .single(let node): return node
            case .boxed(let box): return box.firstVariant
            }
        }

        /// Applies `change` to a box of this head's own, then keeps the box only if it is needed.
        private mutating func changeBox(_ change: (Box) -> Void) {
            let box: Box
            switch storage {
            case .empty:
                box = Box()
            case .single(let node):
                box = Box()
                box.firstVariant = node
            case .boxed(var existing):
                storage = .empty  // so the box below is uniquely referenced when nothing else holds it
                if !isKnownUniquelyReferenced(&existing) { existing = existing.copy() }
                box = existing
            }
            change(box)
            if box.holdsOnlyFirst {
                storage = box.firstVariant.map(Storage.single) ?? .empty
            } else {
                storage = .boxed(box)
            }
        }

        /// Newest first.
        var variants: Variants {
            get {
                switch storage {
                case .empty: return Variants(first: nil, others: [])
                case .single(let node): return Variants(first: node, others: [])
                case .boxed(let box): return Variants(first: box.firstVariant, others: box.otherVariants)
                }
            }
            set {
                if box == nil && newValue.others.isEmpty {
                    storage = newValue.firstNode.map(Storage.single) ?? .empty
                } else {
                    changeBox {
                        $0.firstVariant = newValue.firstNode
                        $0.otherVariants = newValue.others
                    }
                }
            }
        }

        var busy: BusyFetch? {
            get { box?.busy }
            set { if box != nil || newValue != nil { changeBox { $0.busy = newValue } } }
        }

        var hitForMissUntil: Double? {
            get { box?.hitForMissUntil }
            set { if box != nil || newValue != nil { changeBox { $0.hitForMissUntil = newValue } } }
        }

        /// The marker is hit-for-pass (pass the request) rather than hit-for-miss (fetch alone).
        var markerPasses: Bool {
            get { box?.markerPasses ?? false }
            set { if box != nil || newValue { changeBox { $0.markerPasses = newValue } } }
        }

        var isEmpty: Bool { firstVariant == nil && busy == nil && hitForMissUntil == nil }
    }

    /// A key's variants as a collection: the first held on its own, the others in an array
    /// (empty, and so not allocated, for almost every key).
    struct Variants: RandomAccessCollection, Sendable {
        fileprivate private(set) var firstNode: LRUNode?
        fileprivate private(set) var others: [LRUNode]

        fileprivate init(first: LRUNode?, others: [LRUNode]) {
            firstNode = first
            self.others = first == nil ? [] : others
        }

        init(_ nodes: [LRUNode]) {
            self.init(first: nodes.first, others: Array(nodes.dropFirst()))
        }

        var startIndex: Int { 0 }
        var endIndex: Int { firstNode == nil ? 0 : 1 + others.count }

        subscript(position: Int) -> LRUNode {
            position == 0 ? firstNode! : others[position - 1]
        }

        /// Asks `shouldRemove` once per variant, in order; rebuilds only when one goes, so the
        /// usual lookup (nothing expired, nothing banned) allocates nothing.
        mutating func removeAll(where shouldRemove: (LRUNode) throws -> Bool) rethrows {
            var kept: [LRUNode]?
            for (index, node) in enumerated() {
                if try shouldRemove(node) {
                    if kept == nil { kept = Array(self[..<index]) }
                } else {
                    kept?.append(node)
                }
            }
            if let kept { self = Variants(kept) }
        }

        mutating func removeAll() {
            self = Variants(first: nil, others: [])
        }

        /// Makes `node` the newest.
        mutating func prepend(_ node: LRUNode) {
            if let firstNode { others.insert(firstNode, at: 0) }
            firstNode = node
        }

        mutating func popLast() -> LRUNode? {
            if let last = others.popLast() { return last }
            defer { firstNode = nil }
            return firstNode
        }
    }
}
