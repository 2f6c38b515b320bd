// BackendSlots: a backend's `.max_connections`, shared by every event loop: at most `limit`
// fetches talk to the backend at once. More wait in a bounded queue (backend_wait_max) for up to
// backend_wait_timeout, in arrival order; a finished fetch hands its slot straight to the first
// waiter. A full queue or a wait that times out fails the fetch (503), as Varnish counts in
// backend_busy.

import DequeModule
import NIOCore
import Synchronization

final class BackendSlots: Sendable {
    struct Waiter: Sendable {
        var id: Int
        var promise: EventLoopPromise<Void>
    }

    struct State: Sendable {
        var inUse = 0
        var waiters = Deque<Waiter>()
        var nextID = 0
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    enum Refusal: Error {
        case queueFull, timedOut
    }

    /// A slot, now or once one frees up; fails when the queue is full or the wait times out.
    func acquire(on loop: any EventLoop, maxWaiters: Int, timeout: TimeAmount) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        enum Outcome { case granted, refused, queued(Int) }
        let outcome: Outcome = state.withLock { state in
            if state.inUse < limit {
                state.inUse += 1
                return .granted
            }
            guard state.waiters.count < maxWaiters else { return .refused }
            state.nextID += 1
            state.waiters.append(Waiter(id: state.nextID, promise: promise))
            return .queued(state.nextID)
        }
        switch outcome {
        case .granted:
            promise.succeed()
        case .refused:
            promise.fail(Refusal.queueFull)
        case .queued(let id):
            loop.scheduleTask(in: timeout) { [self] in
                let removed = state.withLock { state in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
                    state.waiters.remove(at: index)
                    return true
                }
                if removed { promise.fail(Refusal.timedOut) }
            }
        }
        return promise.futureResult
    }

    /// The holder is done: the first waiter gets the slot, or it is freed.
    func release() {
        let next: Waiter? = state.withLock { state in
            if let waiter = state.waiters.popFirst() { return waiter }
            state.inUse -= 1
            return nil
        }
        next?.promise.succeed()
    }

    var inUse: Int { state.withLock { $0.inUse } }
    var waiting: Int { state.withLock { $0.waiters.count } }
}
