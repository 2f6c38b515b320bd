// BusyFetch: one backend fetch in progress and the requests waiting on it (request coalescing).
// The fetcher publishes head, body pieces and the end; every subscriber receives them in order:
// first a replay of what has already arrived, then live events. (The server's fetching client
// takes them from its fetch directly; each publish says whether the event was taken.)
// Thread-safe: the fetch runs on one event loop, subscribers live on any; handlers are called
// outside the lock and are expected to hop to their own loop.

import NIOCore
import ShellacHTTP
import Synchronization

/// What the fetch learned from the backend's response head.
/// A class, immutable: the head goes to the fetch, the busy object, each subscriber's event and
/// the client writing it; as a struct every one of those copies retained its strings and lists.
public final class FetchedHead: Sendable {
    public let status: Int
    public let reason: String
    public let fields: HTTPFields
    /// Body length when known in advance (Content-Length), so clients can be sent a length.
    public let contentLength: Int?
    /// Whether the response will be stored; false means each waiter must fetch for itself.
    public let cacheable: Bool
    public let varyNames: [String]
    public let varyValues: [String?]
    /// The response's age in whole seconds when it arrived (sent as Age).
    public let age: Int
    /// Seconds of freshness left, grace and keep, as vcl_backend_response left them (what
    /// vcl_deliver reads as obj.ttl, obj.grace and obj.keep while this response is delivered).
    public let ttl: Double
    public let grace: Double
    public let keep: Double

    /// Whether the body is gzip (Content-Encoding).
    public var isGzip: Bool { GzipCoder.isGzip(fields) }

    public init(status: Int, reason: String, fields: HTTPFields, contentLength: Int?, cacheable: Bool,
                varyNames: [String] = [], varyValues: [String?] = [], age: Int = 0,
                ttl: Double = 0, grace: Double = 0, keep: Double = 0) {
        self.status = status
        self.reason = reason
        self.fields = fields
        self.contentLength = contentLength
        self.cacheable = cacheable
        self.varyNames = varyNames
        self.varyValues = varyValues
        self.age = age
        self.ttl = ttl
        self.grace = grace
        self.keep = keep
    }

    /// The same head with another status line and fields (what vcl_deliver made of it).
    public func replacing(status: Int, reason: String, fields: HTTPFields) -> FetchedHead {
        FetchedHead(status: status, reason: reason, fields: fields, contentLength: contentLength, cacheable: cacheable,
                    varyNames: varyNames, varyValues: varyValues, age: age, ttl: ttl, grace: grace, keep: keep)
    }

    /// The head as it goes out with its body recoded on the way (decompressed): `fields`, and a
    /// length unknown until the end.
    public func recoded(fields: HTTPFields) -> FetchedHead {
        FetchedHead(status: status, reason: reason, fields: fields, contentLength: nil, cacheable: cacheable,
                    varyNames: varyNames, varyValues: varyValues, age: age, ttl: ttl, grace: grace, keep: keep)
    }

    /// Whether a waiting request with these fields may share this response.
    public func matches(_ requestFields: HTTPFields) -> Bool {
        varyNames.isEmpty || Vary.values(for: varyNames, in: requestFields) == varyValues
    }
}

/// Why a fetch failed, and the status a client that got nothing yet should see.
public struct FetchFailure: Sendable, Equatable {
    /// 502 for an invalid backend response, 503 for connect failures and timeouts.
    public var status: Int
    public var reason: String
    /// The error response vcl_backend_error made, for clients with no stale copy to fall back on.
    public var response: (reason: String, fields: HTTPFields, body: String)?

    public init(status: Int, reason: String, response: (reason: String, fields: HTTPFields, body: String)? = nil) {
        self.status = status
        self.reason = reason
        self.response = response
    }

    public static func == (a: FetchFailure, b: FetchFailure) -> Bool {
        a.status == b.status && a.reason == b.reason && a.response?.reason == b.response?.reason && a.response?.fields == b.response?.fields
            && a.response?.body == b.response?.body
    }
}

public enum FetchEvent: Sendable {
    case head(FetchedHead)
    case body(ByteBuffer)
    case end
    case failed(FetchFailure)
}

public final class BusyFetch: Sendable {
    public typealias Handler = @Sendable (FetchEvent) -> Void

    private struct State {
        var head: FetchedHead?
        var chunks: [ByteBuffer] = []
        var finished: FetchEvent?
        var subscribers = Subscribers()
        var nextID = 0
        var waiters = 0
        var retainsBody = true
    }

    public let key: CacheKey
    public let maxWaiters: Int
    /// The newest ban when the fetch began: bans made while it runs apply to what it stores (the
    /// backend may have answered before them), as in Varnish. The store keeps those bans while
    /// the fetch is busy.
    public let bansBefore: Int
    private let state = Mutex(State())
    /// Waiters that took the response as a hit (vcl_hit delivered it), and the object the
    /// response became once stored, which counts them (those after it was stored too).
    private let hitsServed = Mutex<(count: Int, stored: StoredObject?)>((0, nil))

    public init(key: CacheKey, maxWaiters: Int, bansBefore: Int = 0) {
        self.key = key
        self.maxWaiters = maxWaiters
        self.bansBefore = bansBefore
    }

    /// Registers a handler; returns its id and the events that already happened (to be handled first),
    /// or nil when the waiting list is full. `isWaiter` is false for the fetching client itself.
    public func subscribe(isWaiter: Bool = true, _ handler: @escaping Handler) -> (id: Int, replay: [FetchEvent])? {
        state.withLock { s in
            if isWaiter {
                guard s.waiters < maxWaiters else { return nil }
                s.waiters += 1
            }
            // The fetching client subscribes before anything happened: nothing to replay, and
            // no list is touched for it.
            var replay: [FetchEvent] = []
            if let head = s.head { replay.append(.head(head)) }
            if !s.chunks.isEmpty { replay.append(contentsOf: s.chunks.map { .body($0) }) }
            if let finished = s.finished { replay.append(finished) }
            let id = s.nextID
            s.nextID += 1
            if s.finished == nil { s.subscribers.add(id, handler) }
            return (id, replay)
        }
    }

    /// Stops delivering to `id` (its client went away or gave up waiting).
    public func unsubscribe(_ id: Int) {
        state.withLock { $0.subscribers.remove(id) }
    }

    public var isFinished: Bool { state.withLock { $0.finished != nil } }

    /// Counts one more waiter taking the response as a hit; returns the count with it (its obj.hits).
    public func recordHit() -> Int {
        hitsServed.withLock { served in
            served.count += 1
            served.stored?.recordHit()
            return served.count
        }
    }

    /// The response was stored as `object`: it counts the hits its waiters took, now and later.
    func stored(as object: StoredObject) {
        hitsServed.withLock { served in
            if served.count > 0 { object.recordHits(served.count) }
            served.stored = object
        }
    }

    /// - Parameter retainBody: keep body pieces for subscribers that join later. False when no one
    ///   can join (uncacheable or private fetches), so a large pass-through body is not held in memory.
    /// Each publish returns whether the event was taken: false once the fetch has finished.
    @discardableResult
    public func publishHead(_ head: FetchedHead, retainBody: Bool = true) -> Bool {
        publish(.head(head)) { s in
            s.head = head
            s.retainsBody = retainBody
        }
    }

    @discardableResult
    public func publishBody(_ chunk: ByteBuffer) -> Bool {
        publish(.body(chunk)) { s in
            if s.retainsBody { s.chunks.append(chunk) }
        }
    }

    /// The body pieces from `index` on, for a subscriber that fell behind and now catches up by
    /// pulling; nil when pieces are not retained (then nothing can be pulled).
    public func bodyPieces(from index: Int) -> [ByteBuffer]? {
        state.withLock { s in
            guard s.retainsBody else { return nil }
            return index < s.chunks.count ? Array(s.chunks[index...]) : []
        }
    }

    /// Whether body pieces are kept for replay and pulling.
    public var retainsBody: Bool { state.withLock { $0.retainsBody } }

    /// The response will not be stored after all (it outgrew the budget while streaming): drop the
    /// retained body. Subscribers already listening still get every live event; the store no longer
    /// lists this fetch, so nobody new can join and need the replay.
    public func stopRetainingBody() {
        state.withLock { s in
            s.retainsBody = false
            s.chunks.removeAll()
        }
    }

    @discardableResult
    public func publishEnd() -> Bool {
        publish(.end) { $0.finished = .end }
    }

    @discardableResult
    public func publishFailure(_ failure: FetchFailure) -> Bool {
        publish(.failed(failure)) { $0.finished = .failed(failure) }
    }

    private func publish(_ event: FetchEvent, _ update: (inout State) -> Void) -> Bool {
        let handlers: Subscribers.Snapshot? = state.withLock { s in
            guard s.finished == nil else { return nil }
            update(&s)
            let handlers = s.subscribers.snapshot
            if s.finished != nil { s.subscribers = Subscribers() }
            return handlers
        }
        switch handlers {
        case nil: return false
        case .none?: break
        case .one(let handler)?: handler(event)
        case .many(let all)?: for handler in all { handler(event) }
        }
        return true
    }
}

/// The handlers listening to a fetch. The first is kept apart from the list: a pass or a lone
/// miss has only its own client, and then subscribing and publishing allocate nothing.
struct Subscribers {
    typealias Handler = BusyFetch.Handler

    private var first: (id: Int, handler: Handler)?
    private var others: [(id: Int, handler: Handler)] = []

    /// The handlers at one moment, to call outside the lock.
    enum Snapshot {
        case none
        case one(Handler)
        case many([Handler])
    }

    mutating func add(_ id: Int, _ handler: @escaping Handler) {
        if first == nil { first = (id, handler) } else { others.append((id, handler)) }
    }

    mutating func remove(_ id: Int) {
        if first?.id == id {
            first = nil
        } else if !others.isEmpty {
            others.removeAll { $0.id == id }
        }
    }

    var snapshot: Snapshot {
        switch (first, others.isEmpty) {
        case (nil, true): return .none
        case (let first?, true): return .one(first.handler)
        case (let first, false): return .many((first.map { [$0.handler] } ?? []) + others.map(\.handler))
        }
    }
}
