// onOwnThread: blocking socket work for tests, off Swift's cooperative pool. The pool has a
// thread per core; a test blocking one in a read or a poll stalled every other test's tasks,
// and tests that time things (idle timeouts, shutdown) failed for it.

import Foundation

func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}
