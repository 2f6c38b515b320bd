// Passive backend health on its own: failures in a row make a backend sick for a while, and a
// success clears them, including after other backends' failures came and went.

import Testing
@testable import ShellacServer

@Suite struct BackendHealthTests {
    private func failures(_ health: BackendHealth, _ name: String) -> Int {
        health.status(of: [name], now: 0)[0].consecutiveFailures
    }

    @Test func successClearsFailuresAndSicknessPerBackend() {
        let health = BackendHealth(failureThreshold: 2, sickRetry: 10)
        health.recordSuccess("a")  // nothing on record: nothing to clear
        #expect(failures(health, "a") == 0 && health.isHealthy("a", now: 0))
        health.recordConnectFailure("a", now: 0)
        health.recordConnectFailure("b", now: 0)
        health.recordConnectFailure("b", now: 0)
        #expect(failures(health, "a") == 1 && health.isHealthy("a", now: 0))
        #expect(!health.isHealthy("b", now: 1), "two failures in a row: sick for 10 s")
        health.recordSuccess("a")
        #expect(failures(health, "a") == 0)
        #expect(!health.isHealthy("b", now: 1) && failures(health, "b") == 2, "another backend's success clears nothing")
        health.recordSuccess("b")
        #expect(health.isHealthy("b", now: 1) && failures(health, "b") == 0)
        // With nothing on record any more, a new failure is still counted and cleared.
        health.recordConnectFailure("a", now: 2)
        health.recordSuccess("a")
        #expect(failures(health, "a") == 0)
    }

    @Test func anOverrideToSickIsSeenAndUndone() {
        // Until some backend could be sick, health is answered without a look at the table.
        let health = BackendHealth(failureThreshold: 2, sickRetry: 10)
        #expect(health.isHealthy("a", now: 0))
        health.setOverride(.sick, for: "a")
        #expect(!health.isHealthy("a", now: 0) && health.isHealthy("b", now: 0))
        health.setOverride(.healthy, for: "a")
        #expect(health.isHealthy("a", now: 0))
        health.setOverride(.sick, for: "a")
        health.recordConnectFailure("b", now: 0)
        health.recordConnectFailure("b", now: 0)
        health.setOverride(.auto, for: "a")
        #expect(health.isHealthy("a", now: 1) && !health.isHealthy("b", now: 1), "b's sick spell is still on record")
        health.recordSuccess("b")
        #expect(health.isHealthy("b", now: 1))
    }
}
