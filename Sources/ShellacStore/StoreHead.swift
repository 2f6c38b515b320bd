// StoreHead: what the store keeps under one key: the variants of the resource (Vary), the fetch
// in progress for it (coalescing) and a hit-for-miss or hit-for-pass marker. There is one per
// cached key, so its size counts: nearly every key holds exactly one variant and nothing else,
// and that case is one word (the variant); anything more lives in a box most keys lack. A value
// type: the box is copied before a change when it is shared.

extension CacheStore {
    struct Head: Sendable {
        private enum Storage {
            case empty
            case single(StoredObject)
            case boxed(Box)
        }

        private var storage = Storage.empty

        /// Everything, when there is more than one variant. Mutable, but only ever changed while
        /// uniquely owned.
        private final class Box: @unchecked Sendable {
            var firstVariant: StoredObject?
            var otherVariants: [StoredObject] = []
            var busy: BusyFetch?
            var hitForMissUntil: Double?
            /// When the marker was set (renewing it keeps this): its place in the eviction order.
            var markerSince = 0.0
            var markerPasses = false
            /// The key the marker was set for (variants and a fetch know their own).
            var markerKey: CacheKey?

            /// Only a first variant (or nothing): the box is not needed.
            var holdsOnlyFirst: Bool {
                otherVariants.isEmpty && busy == nil && hitForMissUntil == nil && !markerPasses && markerKey == nil
            }

            func copy() -> Box {
                let copy = Box()
                copy.firstVariant = firstVariant
                copy.otherVariants = otherVariants
                copy.busy = busy
                copy.hitForMissUntil = hitForMissUntil
                copy.markerSince = markerSince
                copy.markerPasses = markerPasses
                copy.markerKey = markerKey
                return copy
            }
        }

        private var box: Box? {
            if case .boxed(let box) = storage { return box }
            return nil
        }

        private var firstVariant: StoredObject? {
            switch storage {
            case .empty: return nil
            case .single(let object): return object
            case .boxed(let box): return box.firstVariant
            }
        }

        /// Applies `change` to a box of this head's own, then keeps the box only if it is needed.
        private mutating func changeBox(_ change: (Box) -> Void) {
            let box: Box
            switch storage {
            case .empty:
                box = Box()
            case .single(let object):
                box = Box()
                box.firstVariant = object
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
                case .single(let object): return Variants(first: object, others: [])
                case .boxed(let box): return Variants(first: box.firstVariant, others: box.otherVariants)
                }
            }
            set {
                if box == nil && newValue.others.isEmpty {
                    storage = newValue.firstObject.map(Storage.single) ?? .empty
                } else {
                    changeBox {
                        $0.firstVariant = newValue.firstObject
                        $0.otherVariants = newValue.others
                    }
                }
            }
        }

        /// Removes the variants `isGone` picks, handing each to `removed`. `isGone` is asked once
        /// per variant before anything changes, and again for those that go: when none goes (the
        /// usual lookup) the variants are not written back, since that gives a boxed head a box
        /// of its own, a copy (an allocation) while the store's table still shares the box.
        mutating func removeVariants(where isGone: (StoredObject) -> Bool, removed: (StoredObject) -> Void) {
            guard variants.contains(where: isGone) else { return }
            variants.removeAll { object in
                guard isGone(object) else { return false }
                removed(object)
                return true
            }
        }

        var busy: BusyFetch? {
            get { box?.busy }
            set { if box != nil || newValue != nil { changeBox { $0.busy = newValue } } }
        }

        /// Until when the key's marker stands, if it has one.
        var hitForMissUntil: Double? { box?.hitForMissUntil }

        /// The marker is hit-for-pass (pass the request) rather than hit-for-miss (fetch alone).
        var markerPasses: Bool { box?.markerPasses ?? false }

        /// When the key's marker was set, if it has one.
        var markerSince: Double? { box?.hitForMissUntil == nil ? nil : box?.markerSince }

        /// Sets a hit-for-miss (or, when `passes`, hit-for-pass) marker for `key` until `until`, or
        /// renews the one there. Returns what a new marker costs the memory budget (0 on renewal).
        mutating func setMarker(for key: CacheKey, until: Double, passes: Bool, now: Double) -> Int {
            let isNew = box?.hitForMissUntil == nil
            changeBox {
                $0.hitForMissUntil = until
                $0.markerPasses = passes
                $0.markerKey = key
                if isNew { $0.markerSince = now }
            }
            return isNew ? Self.markerCost(key) : 0
        }

        /// Ends the marker; returns what it cost the memory budget (0 when there was none).
        mutating func clearMarker() -> Int {
            guard let box, box.hitForMissUntil != nil, let key = box.markerKey else { return 0 }
            changeBox { $0.hitForMissUntil = nil; $0.markerPasses = false; $0.markerKey = nil }
            return Self.markerCost(key)
        }

        /// A marker's share of memory: its box, its key's text, and its entries in the key table,
        /// the expiry queue and the eviction queue (about 250 bytes for a 40-byte key, measured as
        /// the growth of the process over a million markers).
        static func markerCost(_ key: CacheKey) -> Int { 200 + key.value.utf8.count }

        var isEmpty: Bool { firstVariant == nil && busy == nil && hitForMissUntil == nil }

        /// Holds nothing at all, not even an empty box (a vacant slot of KeyTable).
        var isVacant: Bool {
            if case .empty = storage { return true }
            return false
        }

        /// Whether what the head holds is for `key`. Keys are indexed by a 64-bit digest, so two
        /// keys could in principle share a head; everything in it is checked against the key
        /// before it is used, and a head for another key is treated as absent.
        func holds(_ key: CacheKey) -> Bool {
            if let first = firstVariant { return first.hasKey(key) }
            if let busy = box?.busy { return busy.key == key }
            if let markerKey = box?.markerKey { return markerKey == key }
            return true
        }

        /// Whether what the head holds is for the key `object` is stored under.
        func holds(keyOf object: StoredObject) -> Bool {
            if let first = firstVariant { return first.hasSameKey(as: object) }
            if let busy = box?.busy { return object.hasKey(busy.key) }
            if let markerKey = box?.markerKey { return object.hasKey(markerKey) }
            return true
        }
    }

    /// A key's variants as a collection: the first held on its own, the others in an array
    /// (empty, and so not allocated, for almost every key).
    struct Variants: RandomAccessCollection, Sendable {
        fileprivate private(set) var firstObject: StoredObject?
        fileprivate private(set) var others: [StoredObject]

        fileprivate init(first: StoredObject?, others: [StoredObject]) {
            firstObject = first
            self.others = first == nil ? [] : others
        }

        init(_ objects: [StoredObject]) {
            self.init(first: objects.first, others: Array(objects.dropFirst()))
        }

        var startIndex: Int { 0 }
        var endIndex: Int { firstObject == nil ? 0 : 1 + others.count }

        subscript(position: Int) -> StoredObject {
            position == 0 ? firstObject! : others[position - 1]
        }

        /// Asks `shouldRemove` once per variant, in order; rebuilds only when one goes, so the
        /// usual lookup (nothing expired, nothing banned) allocates nothing.
        mutating func removeAll(where shouldRemove: (StoredObject) throws -> Bool) rethrows {
            var kept: [StoredObject]?
            for (index, object) in enumerated() {
                if try shouldRemove(object) {
                    if kept == nil { kept = Array(self[..<index]) }
                } else {
                    kept?.append(object)
                }
            }
            if let kept { self = Variants(kept) }
        }

        mutating func removeAll() {
            self = Variants(first: nil, others: [])
        }

        /// Makes `object` the newest.
        mutating func prepend(_ object: StoredObject) {
            if let firstObject { others.insert(firstObject, at: 0) }
            firstObject = object
        }

        mutating func popLast() -> StoredObject? {
            if let last = others.popLast() { return last }
            defer { firstObject = nil }
            return firstObject
        }
    }
}
