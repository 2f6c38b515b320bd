// SendWatch on explicit times: progress keeps a client, none for the idle limit or too long a
// wait closes it, and nothing left unsent ends the watch.

import ShellacCore
import Testing

@Suite struct SendWatchTests {
    let limits = SendWatch.Limits(idle: 60, total: 600)

    @Test func theFirstCheckIsOneIdleLimitAfterTheStart() {
        #expect(SendWatch(now: 100, unsent: 5000).firstCheck(limits) == 160)
        #expect(SendWatch(now: 100, unsent: 5000).firstCheck(.init(idle: 60, total: 10)) == 110)
    }

    @Test func aClientThatTakesNothingIsStalled() {
        var watch = SendWatch(now: 0, unsent: 5000)
        #expect(watch.check(now: 60, unsent: 5000, limits: limits) == .stalled)
    }

    @Test func fewerBytesUnsentOrADrainCountAsProgress() {
        var watch = SendWatch(now: 0, unsent: 5000)
        #expect(watch.check(now: 60, unsent: 4000, limits: limits) == .checkAgain(at: 120))
        watch.drained()  // refilled to the same count, but it drained in between
        #expect(watch.check(now: 120, unsent: 4000, limits: limits) == .checkAgain(at: 180))
        #expect(watch.check(now: 180, unsent: 4000, limits: limits) == .stalled)
    }

    @Test func nothingUnsentEndsTheWatch() {
        var watch = SendWatch(now: 0, unsent: 5000)
        #expect(watch.check(now: 60, unsent: 0, limits: limits) == .caughtUp)
    }

    @Test func aClientBehindForTooLongIsClosedEvenWhileTakingSome() {
        var watch = SendWatch(now: 0, unsent: 1_000_000)
        var now = 0.0
        var unsent = 1_000_000
        var verdict = SendWatch.Verdict.checkAgain(at: watch.firstCheck(limits))
        while case .checkAgain(let at) = verdict {
            now = at
            unsent -= 1000
            verdict = watch.check(now: now, unsent: unsent, limits: limits)
        }
        #expect(verdict == .tooLong)
        #expect(now == 600)
    }
}
