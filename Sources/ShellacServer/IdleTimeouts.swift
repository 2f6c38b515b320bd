// IdleTimeouts: one event loop's idle client connections, by the time each is due to be looked
// at (a DeadlineHeap), woken by one scheduled task for the earliest. A SwiftNIO task per
// connection cost about 6,000 instructions to schedule and cancel, and the cancelling searched
// every task on the loop, so closing a connection cost more the more were open. Confined to its
// loop.

import NIOCore
import ShellacCore

final class IdleTimeouts: @unchecked Sendable {
    private let eventLoop: any EventLoop
    private var due = DeadlineHeap<ClientConnectionHandler>()
    private var wake: Scheduled<Void>?
    private var wakeAt: NIODeadline?
    /// While the due connections are looked at (any added meanwhile wait for the wake-up set
    /// for the earliest deadline once that is done).
    private var firing = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Looks at `handler` (handler.idleCheck) at `deadline`; it must not be in already (its
    /// idleHandle nil). The handle it keeps takes it out again (`remove`).
    func add(_ handler: ClientConnectionHandler, at deadline: NIODeadline) {
        assert(handler.idleHandle == nil, "a connection is in its loop's idle heap at most once")
        handler.idleHandle = due.insert(handler, deadline: deadline.uptimeNanoseconds)
        if firing { return }
        if let wakeAt, wakeAt <= deadline { return }
        wake?.cancel()
        schedule(at: deadline)
    }

    func remove(_ handler: ClientConnectionHandler) {
        guard let handle = handler.idleHandle else { return }
        handler.idleHandle = nil
        due.remove(handle)
    }

    private func schedule(at deadline: NIODeadline) {
        wakeAt = deadline
        wake = eventLoop.scheduleTask(deadline: deadline) { self.fire() }
    }

    private func fire() {
        wake = nil
        wakeAt = nil
        let now = NIODeadline.now()
        firing = true
        while let handler = due.popExpired(now: now.uptimeNanoseconds) {
            handler.idleHandle = nil
            handler.idleCheck(now: now)  // may add it again
        }
        firing = false
        if let next = due.firstDeadline { schedule(at: .uptimeNanoseconds(next)) }
    }

    /// Cancels the wake-up: the loop is going away (its connections, closed by then, have taken
    /// themselves out).
    func stop() {
        wake?.cancel()
        wake = nil
        wakeAt = nil
    }
}
