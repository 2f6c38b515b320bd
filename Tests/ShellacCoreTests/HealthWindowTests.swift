// The probe window: threshold over the last `window` results, the initial state, the display.

import Testing
@testable import ShellacCore

@Suite struct HealthWindowTests {
    @Test func healthyWhileEnoughOfTheLastResultsWereGood() {
        var window = HealthWindow(window: 5, threshold: 3, initial: nil)
        #expect(window.goodCount == 2)
        #expect(!window.isHealthy, "a new backend waits for one good probe")
        window.record(true)
        #expect(window.isHealthy)
        window.record(false)
        window.record(false)
        #expect(window.isHealthy, "3 of the last 5 are still good")
        window.record(false)
        #expect(!window.isHealthy, "the oldest good ones fell out of the window")
        #expect(window.display == "HH---")
        window.record(true)
        window.record(true)
        #expect(!window.isHealthy)
        window.record(true)
        #expect(window.isHealthy)
        #expect(window.display == "--HHH")
    }

    @Test func initialAndBounds() {
        #expect(HealthWindow(window: 8, threshold: 3, initial: 3).isHealthy)
        #expect(!HealthWindow(window: 8, threshold: 3, initial: 0).isHealthy)
        let fresh = HealthWindow(window: 4, threshold: 2, initial: 0)
        #expect(fresh.display == "    ")
        let clamped = HealthWindow(window: 100, threshold: 200, initial: nil)
        #expect(clamped.window == 64)
        #expect(clamped.threshold == 64)
    }
}
