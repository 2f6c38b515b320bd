// c: concurrent misses, streaming to waiters, uncacheable answers under concurrency, memory budget.

@testable import ShellacServer
import ShellacTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct CoalescingTests {
    @Test func hundredConcurrentColdRequestsMakeOneFetch() async throws {
        // The origin holds its answer long enough that all hundred arrive while the fetch is out,
        // even when the whole suite runs at once on a busy machine (requests that come after it
        // are plain hits, not collapsed ones).
        try await withHarness(script: { _ in .ok(String(repeating: "z", count: 5000), delayMilliseconds: 1500) }) { h in
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<100 {
                    group.addTask { try await h.get("/cold") }
                }
                var all: [TestResponse] = []
                for try await response in group { all.append(response) }
                return all
            }
            #expect(responses.count == 100)
            #expect(responses.allSatisfy { $0.status == 200 && $0.body.count == 5000 })
            #expect(h.origin.count(path: "/cold") == 1)
            #expect(responses.filter { $0.header("Cache-Status")?.contains("collapsed") == true }.count >= 90)
            #expect(h.server.counters[.coalescedWaits] >= 90)
        }
    }

    /// As in Varnish, requests that waited for the fetch are hits on what it fetched: vcl_hit and
    /// vcl_deliver see obj.hits counting them, and they count as cache hits.
    @Test func waitersAreHitsOnTheFetchedObject() async throws {
        let vcl = """
        vcl 4.1;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        sub vcl_deliver { set resp.http.X-Hits = obj.hits; }
        """
        try await withHarness(vcl: vcl, script: { _ in .ok("slow", delayMilliseconds: 1500) }) { h in
            let hits = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<5 { group.addTask { try await h.get("/burst").header("X-Hits") ?? "-" } }
                var all: [String] = []
                for try await value in group { all.append(value) }
                return all.sorted()
            }
            #expect(hits == ["0", "1", "2", "3", "4"])
            #expect(h.origin.count(path: "/burst") == 1)
            #expect(h.server.counters[.hits] == 4)
            #expect(try await h.get("/burst").header("X-Hits") == "5")  // the stored object counts on
        }
    }

    @Test func waitersGiveUpAfterTheWaitingListTimeout() async throws {
        try await withHarness(parameters: ["waitinglist_timeout=0.2s"],
                              script: { _ in .ok("late", delayMilliseconds: 1000) }) { h in
            async let first = h.get("/wait")
            // The first request is the fetcher once the origin has it; only then send the waiter.
            #expect(try await eventually { h.origin.requestCount == 1 })
            let waiter = try await h.get("/wait")
            #expect(waiter.status == 503)
            #expect(try await first.text == "late")
            #expect(h.origin.count(path: "/wait") == 1)
        }
    }

    @Test func aFullWaitingListSendsRequestsToFetchAlone() async throws {
        // The origin answers slowly enough that all five are in flight together even on a busy
        // machine (at 200 ms, late starters could find the object already stored).
        try await withHarness(parameters: ["waitinglist_max=0"],
                              script: { _ in .ok("x", delayMilliseconds: 1500) }) { h in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 { group.addTask { try await h.get("/full").status } }
                var all: [Int] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses == [200, 200, 200, 200, 200])
            #expect(h.origin.count(path: "/full") == 5)
            #expect(h.server.counters[.waitinglistFull] == 4)
        }
    }

    @Test func uncacheableAnswerSendsEachWaiterToTheBackend() async throws {
        try await withHarness(script: { request in
            .ok("user \(request.header("X-User") ?? "")", [("Cache-Control", "private")], delayMilliseconds: 200)
        }) { h in
            let responses = try await withThrowingTaskGroup(of: (String, TestResponse).self) { group in
                for i in 0..<10 {
                    group.addTask { ("user \(i)", try await h.get("/private", [("X-User", "\(i)")])) }
                }
                var all: [(String, TestResponse)] = []
                for try await pair in group { all.append(pair) }
                return all
            }
            // Nobody ever receives someone else's private response.
            for (expected, response) in responses { #expect(response.text == expected) }
            #expect(h.origin.count(path: "/private") == 10)
        }
    }

    @Test func concurrentRequestsForDifferentVariantsEachGetTheirOwn() async throws {
        try await withHarness(script: { request in
            .ok("lang=\(request.header("X-Lang") ?? "")", [("Cache-Control", "max-age=60"), ("Vary", "X-Lang")],
                delayMilliseconds: 200)
        }) { h in
            let responses = try await withThrowingTaskGroup(of: (String, TestResponse).self) { group in
                for i in 0..<12 {
                    let lang = ["en", "fr", "de"][i % 3]
                    group.addTask { (lang, try await h.get("/v", [("X-Lang", lang)])) }
                }
                var all: [(String, TestResponse)] = []
                for try await pair in group { all.append(pair) }
                return all
            }
            for (lang, response) in responses { #expect(response.text == "lang=\(lang)") }
            #expect(h.origin.count(path: "/v") == 3, "one fetch per variant")
            let after = try await h.get("/v", [("X-Lang", "de")])
            #expect(after.header("Cache-Status")?.contains("hit") == true)
        }
    }

    @Test func waitersReceiveABodyStreamedInPieces() async throws {
        // Chunked from the origin, sent slowly: waiters join mid-stream and still get every byte.
        let body = (0..<50).map { "piece \($0);" }.joined()
        try await withHarness(script: { _ in
            var text = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n"
            text += String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n"
            return .raw(text, close: false)
        }) { h in
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<20 { group.addTask { try await h.get("/stream") } }
                var all: [TestResponse] = []
                for try await response in group { all.append(response) }
                return all
            }
            #expect(responses.allSatisfy { $0.text == body })
            #expect(h.origin.count(path: "/stream") == 1)
            let hit = try await h.get("/stream")
            #expect(hit.text == body)
            #expect(hit.header("Content-Length") == String(body.utf8.count))
        }
    }

    /// An origin that sends a cacheable chunked head with a first piece ("first;"), and the rest
    /// ("later;" and the end) `afterMilliseconds` later.
    static func firstPieceThenTheRest(afterMilliseconds gap: Int) -> TestOrigin.Script {
        let head = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n"
        return { _ in .rawInParts([head + "6\r\nfirst;\r\n", "6\r\nlater;\r\n0\r\n\r\n"], gapMilliseconds: gap) }
    }

    /// One client sends `request` and has the first piece; a second sends it too and has the first
    /// piece from the same fetch (or, on a machine slow enough that the fetch ended before it
    /// came, the stored object); returns what the second has read so far too.
    static func fetchAndJoin(_ h: Harness, _ request: String) async throws
        -> (fetching: RawClient, waiting: RawClient, waiterSoFar: String) {
        let fetching = try await h.client()
        try await fetching.send(request)
        #expect(try await fetching.readUntil("first;", seconds: 1).hasPrefix("HTTP/1.1 200"))
        let waiting = try await h.client()
        try await waiting.send(request)
        let soFar = try await waiting.readUntil("first;", seconds: 1)
        #expect(soFar.hasPrefix("HTTP/1.1 200"))
        return (fetching, waiting, soFar)
    }

    /// The waiter's whole response, from what it read so far: joined to the fetch, it streams
    /// chunked to the last chunk; come after the fetch ended, it is a stored hit, whole.
    static func waiterResponse(_ waiting: RawClient, _ soFar: String) async throws -> String {
        if soFar.contains("Transfer-Encoding: chunked") {
            return soFar.contains("0\r\n\r\n") ? soFar : soFar + (try await waiting.readUntil("0\r\n\r\n", seconds: 5))
        }
        return soFar.contains("later;") ? soFar : soFar + (try await waiting.readUntil("later;", seconds: 5))
    }

    @Test func whatTheOriginSentGoesOnBeforeTheRestArrives() async throws {
        // The head and a first piece, then the rest much later: the client and a waiter have the
        // first piece long before (each backend read is flushed on to the clients it wrote to).
        try await withHarness(script: Self.firstPieceThenTheRest(afterMilliseconds: 1500)) { h in
            let (fetching, waiting, soFar) = try await Self.fetchAndJoin(h, "GET /slow-body HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await fetching.readUntil("0\r\n\r\n", seconds: 5).contains("later;"))
            #expect(try await Self.waiterResponse(waiting, soFar).contains("later;"))
            await fetching.close()
            await waiting.close()
            #expect(h.origin.count(path: "/slow-body") == 1)
        }
    }

    @Test func theFetchingClientLeavingMidStreamLeavesTheFetchToItsWaiters() async throws {
        // The client that started the fetch reads the first piece and goes; a waiter that joined
        // still gets every byte, and the object is stored for the next request.
        try await withHarness(script: Self.firstPieceThenTheRest(afterMilliseconds: 800)) { h in
            let (fetching, waiting, soFar) = try await Self.fetchAndJoin(h, "GET /left HTTP/1.1\r\nHost: example.com\r\n\r\n")
            await fetching.close()
            #expect(try await Self.waiterResponse(waiting, soFar).contains("later;"))
            await waiting.close()
            let hit = try await h.get("/left")
            #expect(hit.text == "first;later;")
            #expect(h.origin.count(path: "/left") == 1)
        }
    }

    @Test func theFetchingClientLeavingBeforeTheAnswerLeavesTheFetchToItsWaiters() async throws {
        try await withHarness(script: { _ in .ok("the answer", delayMilliseconds: 800) }) { h in
            let fetching = try await h.client()
            try await fetching.send("GET /gone HTTP/1.1\r\nHost: example.com\r\n\r\n")
            #expect(try await eventually { h.origin.count(path: "/gone") == 1 })  // the fetch is out
            await fetching.close()
            let waiter = try await h.get("/gone")
            #expect(waiter.status == 200)
            #expect(waiter.text == "the answer")
            #expect(h.origin.count(path: "/gone") == 1)
            #expect(try await h.get("/gone").text == "the answer")
            #expect(h.origin.count(path: "/gone") == 1)
        }
    }

    @Test func memoryBudgetEvictsLeastRecentlyUsed() async throws {
        let body = String(repeating: "m", count: 8 * 1024)
        try await withHarness(budget: 64 * 1024, script: { _ in .ok(body) }) { h in
            for i in 0..<20 {
                let response = try await h.get("/obj/\(i)")
                #expect(response.text == body)
            }
            #expect(h.server.store.evictions > 0)
            #expect(h.server.store.bytesStored <= 64 * 1024)
            // The most recent object is still there, the first one was evicted.
            let r2 = try await h.get("/obj/19")
            #expect(r2.header("Cache-Status")?.contains("hit") == true)
            let r3 = try await h.get("/obj/0")
            #expect(r3.header("Cache-Status")?.contains("miss") == true)
        }
    }

    @Test func chunkedObjectOutgrowingTheBudgetIsPassedThrough() async throws {
        let piece = String(repeating: "C", count: 4096)
        try await withHarness(budget: 16 * 1024, script: { _ in
            var text = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n"
            for _ in 0..<10 { text += "1000\r\n" + piece + "\r\n" }
            return .raw(text + "0\r\n\r\n", close: false)
        }) { h in
            let first = try await h.get("/chunked-large")
            #expect(first.body.count == 40960)
            let second = try await h.get("/chunked-large")
            #expect(second.body.count == 40960)
            #expect(h.origin.count(path: "/chunked-large") == 2)
            #expect(h.server.store.objects == 0)
        }
    }

    @Test func objectLargerThanTheBudgetIsPassedThrough() async throws {
        let body = String(repeating: "L", count: 20 * 1024)
        try await withHarness(budget: 8 * 1024, script: { _ in .ok(body) }) { h in
            let r4 = try await h.get("/large")
            #expect(r4.text == body)
            let r5 = try await h.get("/large")
            #expect(r5.text == body)
            #expect(h.origin.count(path: "/large") == 2)
            #expect(h.server.store.objects == 0)
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct SlowClientTests {
    @Test func aPassedBodyFollowsItsClientsPaceInsteadOfPilingUp() async throws {
        let size = 32 * 1024 * 1024
        let body = String(repeating: "s", count: size)
        try await withHarness(script: { _ in .ok(body, [("Cache-Control", "no-store")]) }) { h in
            let c = try await RawClient.connect(port: h.port, group: h.clients, reading: false)
            try await c.send("GET /big HTTP/1.1\r\nHost: a\r\nCookie: x=1\r\n\r\n")
            // Bounded wait until the client's socket fills and the backend read is paused.
            for _ in 0..<200 where h.server.counters[.backendReadsPaused] == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(h.server.counters[.backendReadsPaused] >= 1)
            try await Task.sleep(for: .milliseconds(200))
            // Shellac stopped reading, so the origin is still stuck writing its 32 MiB.
            #expect(h.origin.responsesWritten == 0)
            try await c.startReading()
            let response = try await c.readResponse(seconds: 20)
            #expect(response.body.count == size)
            #expect(h.origin.responsesWritten == 1)
            await c.close()
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct SlowSharedReaderTests {
    @Test func aStalledReaderNeitherHoldsUpTheFetchNorOthersAndStillGetsEverything() async throws {
        // 24 MiB, more than loopback socket buffers hold, in 4 KiB runs of one letter each.
        let block = (0..<26).map { String(repeating: Character(UnicodeScalar(UInt8(97 + $0))), count: 4096) }.joined()
        let body = String(repeating: block, count: 24 * 1024 * 1024 / block.utf8.count)
        let size = body.utf8.count
        try await withHarness(budget: 64 << 20, script: { _ in .ok(body, delayMilliseconds: 100) }) { h in
            let slow = try await RawClient.connect(port: h.port, group: h.clients, reading: false)
            try await slow.send("GET /shared HTTP/1.1\r\nHost: example.com\r\n\r\n")
            try await Task.sleep(for: .milliseconds(20))  // let the stalled request become the fetcher
            let fast = try await h.get("/shared")
            #expect(fast.body.count == size)
            // The object is stored although the stalled reader has not read it.
            #expect(h.server.store.objects == 1)
            #expect(h.server.counters[.laggingClients] >= 1)
            try await slow.startReading()
            let response = try await slow.readResponse(seconds: 20)
            #expect(response.body.count == size)
            #expect(response.text == body)
            await slow.close()
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct BackendFailureTests {
    @Test func originDyingMidBodyIsNeverCachedAndTheClientSeesTheBreak() async throws {
        try await withHarness(script: { request in
            request.indexOnConnection == 0 && request.path == "/cut"
                ? .truncated(announcedLength: 1000, sent: 10, headers: [("Cache-Control", "max-age=60")])
                : .ok("whole")
        }) { h in
            let c = try await h.client()
            try await c.send("GET /cut HTTP/1.1\r\nHost: example.com\r\n\r\n")
            await #expect(throws: RawClientError.self) { try await c.readResponse(seconds: 3) }
            #expect(c.isClosed)
            await c.close()
            #expect(h.server.store.objects == 0)
            #expect(h.server.counters[.truncatedBodies] == 1)
        }
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "ICY 200 OK\r\n\r\nhello",
    ])
    func invalidBackendResponsesGive502AndAreNotCached(raw: String) async throws {
        try await withHarness(script: { _ in .raw(raw, close: true) }) { h in
            let r6 = try await h.get("/bad")
            #expect(r6.status == 502)
            let r7 = try await h.get("/bad")
            #expect(r7.status == 502)
            #expect(h.origin.count(path: "/bad") == 2)
            #expect(h.server.store.objects == 0)
        }
    }

    @Test func backendDownGives503() async throws {
        // The backend's port stays bound without listening, so no other test's listener can take
        // it and the connection is refused.
        try await withRefusingPort { port in
            let vcl = "vcl 4.1;\nbackend down { .host = \"127.0.0.1\"; .port = \"\(port)\"; }\n"
            try await withHarness(vcl: vcl, script: { _ in .ok("x") }) { h in
                let response = try await h.get("/down")
                #expect(response.status == 503)
                #expect(response.header("Retry-After") == "5")
                #expect(response.text.contains("Backend fetch failed"))
                #expect(h.server.counters[.backendConnectionsFailed] >= 1)
            }
        }
    }

    @Test func firstByteTimeoutGives503() async throws {
        try await withHarness(parameters: ["first_byte_timeout=0.2s"], script: { _ in .ok("slow", delayMilliseconds: 2000) }) { h in
            let r8 = try await h.get("/slow")
            #expect(r8.status == 503)
        }
    }

    @Test func aStallMidBodyHitsTheBetweenBytesTimeout() async throws {
        try await withHarness(parameters: ["between_bytes_timeout=0.2s"], script: { _ in
            .raw("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\nabc", close: false)
        }) { h in
            let c = try await h.client()
            try await c.send("GET /stall HTTP/1.1\r\nHost: a\r\n\r\n")
            await #expect(throws: RawClientError.self) { try await c.readResponse(seconds: 3) }
            #expect(c.isClosed, "the client sees the break, not a clean end")
            await c.close()
            #expect(h.server.store.objects == 0)
        }
    }

    @Test func aReusedConnectionThatFailsIsRetriedOnceOnAFreshOne() async throws {
        // The origin answers the first request on each connection and silently closes on the second.
        try await withHarness(parameters: ["threads=1"], script: { request in
            request.indexOnConnection == 0 ? .ok("fresh", [("Cache-Control", "no-store")]) : .close
        }) { h in
            let r9 = try await h.get("/r")
            #expect(r9.text == "fresh")
            let r10 = try await h.get("/r")
            #expect(r10.text == "fresh")
            #expect(h.server.counters[.backendRetries] >= 1)
        }
    }

    @Test func aClientLeavingDuringAPassEndsItsFetchWithoutARetry() async throws {
        // Closing the backend connection of an abandoned fetch must not look like a reused
        // connection failing: that retried the request on a new connection for a client long gone.
        try await withHarness(parameters: ["threads=1"], script: { request in
            .ok("late", [("Cache-Control", "no-store")], delayMilliseconds: request.path == "/warm" ? 0 : 2_000)
        }) { h in
            _ = try await h.get("/warm")  // leaves a reusable connection in the pool
            let c = try RawSocket.connect(port: h.port)
            c.write("GET /slow HTTP/1.1\r\nHost: a\r\nCookie: session=1\r\n\r\n")  // a pass
            #expect(try await eventually { h.origin.count(path: "/slow") == 1 })
            c.reset()
            // The backend connection is closed (nothing more of it is wanted), and the backend is
            // not blamed: a client leaving is no fetch failure.
            #expect(try await eventually { h.server.services.liveBackendHandlers.count == 0 })
            #expect(h.server.counters[.fetchFailures] == 0)
            #expect(h.server.counters[.backendRetries] == 0)
            #expect(h.server.counters[.backendConnectionsOpened] == 1)
            #expect(h.origin.count(path: "/slow") == 1)
        }
    }

    @Test func keepAliveBackendConnectionsAreReused() async throws {
        try await withHarness(parameters: ["threads=1"], script: { _ in .ok("x", [("Cache-Control", "no-store")]) }) { h in
            for _ in 0..<5 { _ = try await h.get("/k") }
            #expect(h.server.counters[.backendConnectionsOpened] == 1)
            #expect(h.server.counters[.backendConnectionsReused] == 4)
        }
    }

    @Test func anIdleBackendConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await withHarness(parameters: ["threads=1", "backend_idle_timeout=0.1"],
                              script: { _ in .ok("x", [("Cache-Control", "no-store")]) }) { h in
            _ = try await h.get("/k")
            // The pool's timer runs on the event loop's own clock (BackendPoolTests drive it
            // virtually); here a real connection is left idle well past the timeout.
            try await Task.sleep(for: .milliseconds(1_000))
            _ = try await h.get("/k")
            #expect(h.server.counters[.backendConnectionsOpened] == 2)
            #expect(h.server.counters[.backendConnectionsReused] == 0)
        }
    }

    @Test func extraBytesAfterAResponseRetireTheConnection() async throws {
        try await withHarness(parameters: ["threads=1"], script: { _ in
            .raw("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", close: false)
        }) { h in
            let r11 = try await h.get("/x")
            #expect(r11.text == "ok")
            let r12 = try await h.get("/x")
            #expect(r12.text == "ok")
            #expect(h.server.counters[.backendConnectionsReused] == 0)
        }
    }
}

/// A small streamed body that arrives while its head waits is sent with the head in one write:
/// whatever order and reads the origin's bytes come in, the client gets the response whole.
@Suite(.timeLimit(.minutes(1))) struct BodyJoinedToHeadTests {
    static let head = "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 11\r\n\r\n"

    @Test(arguments: [
        [head + "hello world"],             // head and body in one read
        [head, "hello world"],              // the head alone first: it goes out at the read's end
        [head + "hello ", "world"],         // part of the body joined, the rest in a later read
    ])
    func passedBodiesArriveWholeInAnySplit(parts: [String]) async throws {
        try await withHarness(script: { request in
            request.path == "/split" ? .rawInParts(parts, gapMilliseconds: 100) : .ok("next")
        }) { h in
            let c = try await h.client()
            try await c.send("GET /split HTTP/1.1\r\nHost: a\r\n\r\n")
            let first = try await c.readResponse(seconds: 5)
            #expect(first.status == 200)
            #expect(first.text == "hello world")
            #expect(first.header("Content-Length") == "11")
            // The connection goes on with nothing left over from the first response.
            try await c.send("GET /other HTTP/1.1\r\nHost: a\r\n\r\n")
            let second = try await c.readResponse(seconds: 5)
            #expect(second.text == "next")
            await c.close()
        }
    }

    @Test func aHeadWhoseBodyIsLateIsNotHeldBack() async throws {
        try await withHarness(script: { _ in .rawInParts([Self.head + "hello ", "world"], gapMilliseconds: 1500) }) { h in
            let c = try await h.client()
            try await c.send("GET /late HTTP/1.1\r\nHost: a\r\n\r\n")
            // Head and first piece leave at the end of the backend read that brought them.
            let early = try await c.readUntil("hello ", seconds: 1)
            #expect(early.hasPrefix("HTTP/1.1 200") && early.contains("Content-Length: 11\r\n"))
            #expect(try await c.readUntil("world", seconds: 5).hasSuffix("world"))
            await c.close()
        }
    }

    @Test func bodiesBeyondTheLimitAndHitsAfterAJoinedMissAreWhole() async throws {
        let large = String(repeating: "L", count: 20_000)  // well beyond the size joined to a head
        try await withHarness(script: { request in
            request.path == "/large" ? .ok(large, [("Cache-Control", "no-store")]) : .ok("small body")
        }) { h in
            #expect(try await h.get("/large").text == large)
            // A miss joins its small body; the hit after it writes its head into the same buffer.
            let c = try await h.client()
            for _ in 0..<3 {
                try await c.send("GET /small HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try await c.readResponse(seconds: 5).text == "small body")
            }
            await c.close()
            #expect(h.origin.count(path: "/small") == 1)
        }
    }
}
