// Entry: the process's main. The command runs as a task on the concurrency runtime while the
// main thread waits on a semaphore, instead of parking in dispatch_main (an async main does that,
// in sigsuspend on a read-only signal mask that valgrind 3.19 cannot handle: the instruction-count
// benchmark runs shellacd under callgrind).

import Dispatch

@main
enum Entry {
    static func main() {
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await Shellacd.main()
            finished.signal()
        }
        finished.wait()
    }
}
