// g: grace — stale objects answered at once while one background fetch refreshes them, driven
// by a manual clock (no sleeping for time to pass).

import ShellacServer
import ShellacTestSupport
import Synchronization
import Testing

/// Counts origin requests per path, so a script can answer the first one differently.
final class Sequence: Sendable {
    private let n = Mutex(0)
    func next() -> Int { n.withLock { $0 += 1; return $0 } }
}

/// Polls (bounded, at most 3 s) until `condition` holds; for waiting on background work, not on time.
func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
    for _ in 0..<300 {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

@Suite(.timeLimit(.minutes(1))) struct GraceTests {
    @Test func graceHitsAnswerAtOnceWhileOneBackgroundFetchRefreshes() async throws {
        let clock = ManualClock()
        let sequence = Sequence()
        try await withHarness(clock: clock, script: { _ in
            let n = sequence.next()
            return .ok("v\(n)", [("Cache-Control", "max-age=10")], delayMilliseconds: n == 1 ? 0 : 400)
        }) { h in
            let r1 = try await h.get("/g")
            #expect(r1.text == "v1")
            clock.advance(by: 11)  // stale, within the default 10 s of grace
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<10 { group.addTask { try await h.get("/g") } }
                var all: [TestResponse] = []
                for try await response in group { all.append(response) }
                return all
            }
            // Everyone got the stale copy without waiting for the slow origin.
            #expect(responses.allSatisfy { $0.text == "v1" })
            #expect(responses.allSatisfy { $0.header("Cache-Status")?.contains("fwd=stale") == true })
            #expect(h.origin.count(path: "/g") <= 2)
            #expect(h.server.counters[.backgroundFetches] == 1)
            // Once the refresh has landed, the new object answers, fresh, and nothing more was fetched.
            #expect(try await eventually { try await h.get("/g").text == "v2" })
            let refreshed = try await h.get("/g")
            #expect(refreshed.text == "v2")
            #expect(refreshed.header("Cache-Status")?.hasPrefix("Shellac; hit; ttl=") == true)
            #expect(h.origin.count(path: "/g") == 2)
        }
    }

    @Test func aFailedRefreshKeepsTheStaleObjectUntilGraceEnds() async throws {
        let clock = ManualClock()
        let sequence = Sequence()
        try await withHarness(clock: clock, script: { _ in
            sequence.next() == 1 ? .ok("original", [("Cache-Control", "max-age=10")]) : .close
        }) { h in
            let r2 = try await h.get("/f")
            #expect(r2.text == "original")
            clock.advance(by: 11)
            let r3 = try await h.get("/f")
            #expect(r3.text == "original")
            #expect(try await eventually { h.server.counters[.fetchFailures] >= 1 })
            #expect(h.server.store.objects == 1, "the stale object survives the failed refresh")
            let r4 = try await h.get("/f")
            #expect(r4.text == "original")
            clock.advance(by: 10)  // past ttl + grace
            let r5 = try await h.get("/f")
            #expect(r5.status == 503)
        }
    }

    @Test func oneSecondTTLUnderLoadMakesAboutOneFetchPerSecond() async throws {
        let clock = ManualClock()
        try await withHarness(clock: clock, script: { _ in .ok("tick", [("Cache-Control", "max-age=1")]) }) { h in
            let c = try await h.client()
            for _ in 0..<10 {
                for _ in 0..<20 {
                    try await c.send("GET /tick HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try await c.readResponse().text == "tick")
                }
                // Let this second's refresh land before the clock moves on.
                let fetched = h.origin.count(path: "/tick")
                #expect(try await eventually { h.server.counters[.fetches] == fetched })
                clock.advance(by: 1)
            }
            await c.close()
            // One fetch per simulated second (the first a miss, then background refreshes).
            #expect((9...11).contains(h.origin.count(path: "/tick")))
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct StaleOnErrorTests {
    @Test func staleIfErrorAnswersWhileTheBackendIsDownThen503() async throws {
        let clock = ManualClock()
        let sequence = Sequence()
        try await withHarness(parameters: ["default_grace=0s"], clock: clock, script: { _ in
            sequence.next() == 1 ? .ok("saved", [("Cache-Control", "max-age=10, stale-if-error=60")]) : .close
        }) { h in
            let first = try await h.get("/s")
            #expect(first.text == "saved")
            clock.advance(by: 30)  // past ttl, no grace, within stale-if-error
            let stale = try await h.get("/s")
            #expect(stale.status == 200)
            #expect(stale.text == "saved")
            #expect(stale.header("Cache-Status")?.contains("detail=stale-if-error") == true)
            #expect(h.server.counters[.staleOnError] == 1)
            #expect(h.server.counters[.graceHits] == 0, "a stale-if-error answer is not a grace hit")
            clock.advance(by: 45)  // past stale-if-error
            let gone = try await h.get("/s")
            #expect(gone.status == 503)
        }
    }

    @Test func a5xxWithAStaleCopyAvailableServesTheCopyAndIsNotStored() async throws {
        let clock = ManualClock()
        let sequence = Sequence()
        try await withHarness(parameters: ["default_grace=0s"], clock: clock, script: { _ in
            sequence.next() == 1
                ? .ok("good", [("Cache-Control", "max-age=10, stale-if-error=60")])
                : .ok("broken", [("Cache-Control", "max-age=10")], status: 500)
        }) { h in
            _ = try await h.get("/e")
            clock.advance(by: 20)
            let response = try await h.get("/e")
            #expect(response.status == 200)
            #expect(response.text == "good")
            #expect(response.header("Cache-Status")?.contains("fwd-status=500") == true)
            let again = try await h.get("/e")
            #expect(again.text == "good", "the 500 replaced nothing")
        }
    }

    @Test func withoutAStaleCopyA5xxIsPassedOn() async throws {
        try await withHarness(script: { _ in .ok("broken", [("Cache-Control", "max-age=10")], status: 500) }) { h in
            let response = try await h.get("/x")
            #expect(response.status == 500)
            #expect(response.text == "broken")
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct RevalidationScenarioTests {
    /// 304 when the request carries the current validator, else the full body.
    static func origin(cacheControl: String, etag: String = "\"v1\"") -> TestOrigin.Script {
        { request in
            if request.header("If-None-Match") == etag {
                return .respond(status: 304, headers: [("Cache-Control", cacheControl), ("ETag", etag)], body: "",
                                delayMilliseconds: 0)
            }
            return .ok("the body", [("Cache-Control", cacheControl), ("ETag", etag)])
        }
    }

    @Test func aKeptObjectIsRevalidatedWithA304AndItsBodyReused() async throws {
        let clock = ManualClock()
        try await withHarness(parameters: ["default_grace=0s", "default_keep=60s"], clock: clock,
                              script: Self.origin(cacheControl: "max-age=10")) { h in
            let first = try await h.get("/k")
            #expect(first.text == "the body")
            clock.advance(by: 15)  // past ttl and grace, within keep
            let revalidated = try await h.get("/k")
            #expect(revalidated.status == 200)
            #expect(revalidated.text == "the body")
            #expect(revalidated.header("Cache-Status")?.contains("fwd=stale") == true)
            let conditional = try #require(h.origin.requests.last)
            #expect(conditional.header("If-None-Match") == "\"v1\"")
            #expect(h.server.counters[.revalidated] == 1)
            // Refreshed: fresh again, without another origin request.
            let hit = try await h.get("/k")
            #expect(hit.header("Cache-Status")?.hasPrefix("Shellac; hit") == true)
            #expect(h.origin.count(path: "/k") == 2)
        }
    }

    @Test func aChangedResourceAnswersTheConditionalFetchWith200AndReplacesTheObject() async throws {
        let clock = ManualClock()
        let sequence = Sequence()
        try await withHarness(parameters: ["default_grace=0s", "default_keep=60s"], clock: clock, script: { _ in
            let n = sequence.next()
            return .ok("version \(n)", [("Cache-Control", "max-age=10"), ("ETag", "\"v\(n)\"")])
        }) { h in
            #expect(try await h.get("/c").text == "version 1")
            clock.advance(by: 15)
            let changed = try await h.get("/c")
            #expect(changed.text == "version 2")
            #expect(h.origin.requests.last?.header("If-None-Match") == "\"v1\"")
            #expect(h.server.counters[.revalidated] == 0)
            let hit = try await h.get("/c")
            #expect(hit.text == "version 2")
            #expect(hit.header("ETag") == "\"v2\"")
            #expect(h.origin.count(path: "/c") == 2)
        }
    }

    @Test func noCacheIsRevalidatedOnEveryUse() async throws {
        try await withHarness(script: Self.origin(cacheControl: "no-cache")) { h in
            for _ in 0..<3 {
                let response = try await h.get("/nc")
                #expect(response.status == 200)
                #expect(response.text == "the body")
            }
            #expect(h.origin.count(path: "/nc") == 3)
            #expect(h.origin.requests.dropFirst().allSatisfy { $0.header("If-None-Match") == "\"v1\"" })
            #expect(h.server.counters[.revalidated] == 2)
        }
    }

    @Test func mustRevalidateIsNeverServedStale() async throws {
        let clock = ManualClock()
        let sequence = Sequence()
        try await withHarness(clock: clock, script: { _ in
            let n = sequence.next()
            return .ok("v\(n)", [("Cache-Control", "max-age=10, must-revalidate")], delayMilliseconds: n == 1 ? 0 : 200)
        }) { h in
            #expect(try await h.get("/m").text == "v1")
            clock.advance(by: 11)  // within the default grace, but must-revalidate forbids it
            let response = try await h.get("/m")
            #expect(response.text == "v2")
            #expect(h.server.counters[.graceHits] == 0)
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct SickBackendTests {
    @Test func aSickBackendIsNotTriedAndStaleCopiesAnswer() async throws {
        let clock = ManualClock()
        try await withHarness(clock: clock, script: { request in
            .ok("from origin \(request.path)", [("Cache-Control", request.path == "/sie"
                ? "max-age=10, stale-if-error=300" : "max-age=10")])
        }) { h in
            _ = try await h.get("/grace")
            _ = try await h.get("/sie")
            h.server.setBackendHealthy(false)
            clock.advance(by: 15)  // both stale, within the default 10 s of grace

            let grace = try await h.get("/grace")
            #expect(grace.text == "from origin /grace")
            #expect(grace.header("Cache-Status")?.contains("fwd=stale") == true)
            let unknown = try await h.get("/never-cached")
            #expect(unknown.status == 503)

            clock.advance(by: 10)  // past grace: only /sie may still stand in (stale-if-error)
            let sie = try await h.get("/sie")
            #expect(sie.text == "from origin /sie")
            #expect(sie.header("Cache-Status")?.contains("stale-if-error") == true)
            let gone = try await h.get("/grace")
            #expect(gone.status == 503)
            #expect(h.origin.requestCount == 2, "nothing reached the sick backend")

            h.server.setBackendHealthy(true)
            let fresh = try await h.get("/never-cached")
            #expect(fresh.text == "from origin /never-cached")
        }
    }
}
