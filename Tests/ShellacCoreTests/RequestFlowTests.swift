// The request flow state machine, driven event by event against a real store and explicit time.

import NIOCore
import ShellacHTTP
import ShellacStore
import ShellacVCL
import Testing
@testable import ShellacCore

let now = 1_800_000_000.0

func flow(_ head: HTTPRequestHead, program: VCLProgram = builtinProgram) -> RequestFlow {
    RequestFlow(request: head, addresses: ClientAddresses(client: "127.0.0.9", server: "127.0.0.1"), requestID: "7",
                program: program, maxWaiters: 10, maxRestarts: 4, now: now, services: .none)
}

@Suite struct RequestFlowTests {
    @Test(arguments: CacheStatus.Forward.allCases, CacheStatus.Detail.allCases)
    func cacheStatusWithEveryPartAtItsLongestFitsItsReservedLength(forward: CacheStatus.Forward,
                                                                    detail: CacheStatus.Detail) {
        let status = CacheStatus(hit: true, forward: forward, forwardStatus: Int.min, stored: true, collapsed: true,
                                 ttl: Int.min, detail: detail)
        #expect(status.headerValue == "Shellac; hit; fwd=\(forward.token); fwd-status=\(Int.min); stored; collapsed"
            + "; ttl=\(Int.min); detail=\(detail.token)")
        #expect(status.headerValue.utf8.count <= status.maxLength)
    }

    @Test func cacheStatusTokensAreRFC9211s() {
        #expect(CacheStatus.Forward.allCases.map { "\($0.token)" }
            == ["uri-miss", "vary-miss", "miss", "stale", "bypass", "request"])
        #expect(CacheStatus.Detail.allCases.map { "\($0.token)" }
            == ["hit-for-pass", "hit-for-miss", "always-miss", "miss", "busy-other-variant", "stale-if-error",
                "waitinglist-full"])
    }

    @Test func missFetchesForCacheThenHitDelivers() throws {
        let store = CacheStore(budget: 1 << 20)
        var first = flow(request("HEAD", "/a", [("Host", "H"), ("If-None-Match", "\"x\""), ("Connection", "te"),
                                               ("TE", "trailers"), ("X-Forwarded-For", "1.2.3.4")]))
        guard case .lookup(let key) = first.start(now: now) else { Issue.record("expected lookup"); return }
        guard case .fetch(let fetch, let status) = first.lookupFinished(store.lookup(key, requestFields: first.request.fields,
                                                                                   now: now), now: now) else {
            Issue.record("expected fetch"); return
        }
        #expect(fetch.mode == .cacheable(.uriMiss))
        #expect(status.headerValue == "Shellac; fwd=uri-miss")
        #expect(fetch.request.method == "GET", "a HEAD miss fetches GET")
        #expect(fetch.request.fields["If-None-Match"] == nil)
        #expect(fetch.request.fields["TE"] == nil)
        #expect(fetch.request.fields["X-Forwarded-For"] == "1.2.3.4, 127.0.0.9")
        #expect(fetch.request.fields["Host"] == "h")

        let object = StoredObject(key: key, status: 200, reason: "OK", fields: HTTPFields([("ETag", "\"x\"")]),
                                  body: [ByteBuffer(string: "hi")], varyNames: [], varyValues: [], storedAt: now,
                                  initialAge: 0, ttl: 60, grace: 0, keep: 0)
        store.insert(object, completing: fetch.busy, now: now)

        var second = flow(request("GET", "/a", [("Host", "h"), ("If-None-Match", "\"x\"")]))
        guard case .lookup(let key2) = second.start(now: now) else { Issue.record("expected lookup"); return }
        guard case .deliverHit(let hit, let notModified, let hitStatus, _, nil, nil) =
            second.lookupFinished(store.lookup(key2, requestFields: second.request.fields, now: now + 10), now: now + 10)
        else { Issue.record("expected hit"); return }
        #expect(hit === object)
        #expect(notModified)
        #expect(hitStatus.headerValue == "Shellac; hit; ttl=50")
    }

    @Test func passKeepsMethodBodyAndValidators() {
        var f = flow(request("POST", "/p", [("Host", "h"), ("If-None-Match", "\"x\"")], framing: .contentLength(4)))
        guard case .fetch(let fetch, let status) = f.start(now: now) else { Issue.record("expected fetch"); return }
        #expect(fetch.mode == .pass)
        #expect(status.forward == .bypass)
        #expect(fetch.request.method == "POST")
        #expect(fetch.request.framing == .contentLength(4))
        #expect(fetch.request.fields["Content-Length"] == "4")
        #expect(fetch.request.fields["If-None-Match"] == "\"x\"")
    }

    /// A first request that misses and fetches, and a second one for the same URL left waiting on
    /// that fetch; nil (with an issue recorded) when the flow did not get there.
    func fetcherAndWaiter(_ store: CacheStore, fetcher fetcherHead: HTTPRequestHead = request(),
                          waiter waiterHead: HTTPRequestHead = request(),
                          program: VCLProgram = builtinProgram) -> (waiter: RequestFlow, busy: BusyFetch)? {
        var fetcher = flow(fetcherHead, program: program)
        guard case .lookup(let key) = fetcher.start(now: now),
              case .fetch = fetcher.lookupFinished(store.lookup(key, requestFields: fetcher.request.fields, now: now),
                                                   now: now) else {
            Issue.record("expected the first request to fetch"); return nil
        }
        var waiter = flow(waiterHead, program: program)
        _ = waiter.start(now: now)
        guard case .wait(let busy) = waiter.lookupFinished(store.lookup(key, requestFields: waiter.request.fields,
                                                                        now: now), now: now) else {
            Issue.record("expected the second request to wait"); return nil
        }
        return (waiter, busy)
    }

    @Test func waiterStreamsAMatchingCacheableResponse() throws {
        guard let pair = fetcherAndWaiter(CacheStore(budget: 1 << 20)) else { return }
        var waiter = pair.waiter
        let head = FetchedHead(status: 200, reason: "OK", fields: HTTPFields(), contentLength: 2, cacheable: true)
        guard case .stream(let streamed, let status) = waiter.waitEnded(with: head) else {
            Issue.record("expected stream"); return
        }
        #expect(streamed === pair.busy)
        #expect(status.collapsed)
    }

    /// As in Varnish, each waiter is a hit on the fetched response: vcl_hit runs with it as obj,
    /// obj.hits counts the waiters, and the stored object goes on counting from there.
    @Test func waitersAreHitsOnTheFetchedResponse() throws {
        let store = CacheStore(budget: 1 << 20)
        let counting = try program("""
            sub vcl_hit {
                if (obj.http.X-Private) { return (pass); }
                set req.http.X-Seen = obj.status + " " + obj.hits;
            }
            sub vcl_deliver { set resp.http.X-Hits = obj.hits; }
            """)
        var fetcher = flow(request(), program: counting)
        guard case .lookup(let key) = fetcher.start(now: now),
              case .fetch(let fetch, _) = fetcher.lookupFinished(store.lookup(key, requestFields: fetcher.request.fields,
                                                                               now: now), now: now),
              let busy = fetch.busy else { Issue.record("expected the first request to fetch"); return }
        let head = FetchedHead(status: 203, reason: "Fine", fields: HTTPFields(), contentLength: 2, cacheable: true)
        for expected in 1...2 {
            var waiter = flow(request(), program: counting)
            _ = waiter.start(now: now)
            guard case .wait = waiter.lookupFinished(store.lookup(key, requestFields: waiter.request.fields, now: now),
                                                     now: now),
                  case .stream(_, let status) = waiter.waitEnded(with: head) else { Issue.record("expected stream"); return }
            #expect(waiter.request.fields["X-Seen"] == "203 \(expected)")
            guard case .deliver(let edits?) = waiter.deliverStreamed(head, status: status, now: now) else {
                Issue.record("expected vcl_deliver's edits"); return
            }
            var hits: [String] = []
            switch edits {
            case .added(let added, _, _): added.forEach { name, value in if name == "X-Hits" { hits.append(value) } }
            case .replaced(_, _, let fields, _): hits = fields.values("X-Hits")
            }
            #expect(hits == ["\(expected)"])
        }
        let object = StoredObject(key: key, status: 203, reason: "Fine", fields: HTTPFields(), body: [],
                                  varyNames: [], varyValues: [], storedAt: now, initialAge: 0, ttl: 60, grace: 0, keep: 0)
        store.insert(object, completing: busy, now: now)
        #expect(object.hits == 2)
        // vcl_hit may still send a waiter elsewhere (here on the fetched response's own header).
        var fields = HTTPFields()
        fields.add("X-Private", "1")
        let privateHead = FetchedHead(status: 200, reason: "OK", fields: fields, contentLength: 2, cacheable: true)
        guard var (waiter, _) = fetcherAndWaiter(CacheStore(budget: 1 << 20), program: counting) else { return }
        guard case .fetch(let own, let status) = waiter.waitEnded(with: privateHead) else {
            Issue.record("expected a pass"); return
        }
        #expect(own.mode == .pass && status.forward == .bypass)
    }

    @Test func waiterFetchesAloneWhenTheResponseIsUncacheable() {
        guard var (waiter, _) = fetcherAndWaiter(CacheStore(budget: 1 << 20)) else { return }
        let head = FetchedHead(status: 200, reason: "OK", fields: HTTPFields(), contentLength: 2, cacheable: false)
        guard case .fetch(let own, _) = waiter.waitEnded(with: head) else { Issue.record("expected own fetch"); return }
        #expect(own.mode == .hitForMiss)
    }

    @Test func waiterLooksUpAgainOnAnotherVariant() {
        let store = CacheStore(budget: 1 << 20)
        guard var (waiter, _) = fetcherAndWaiter(store, fetcher: request("GET", "/", [("Host", "h"), ("X-Lang", "en")]),
                                                 waiter: request("GET", "/", [("Host", "h"), ("X-Lang", "fr")]))
        else { return }
        let head = FetchedHead(status: 200, reason: "OK", fields: HTTPFields(), contentLength: 2, cacheable: true,
                               varyNames: ["x-lang"], varyValues: ["en"])
        guard case .awaitCompletion = waiter.waitEnded(with: head) else { Issue.record("expected to wait"); return }
        guard case .lookup(let again) = waiter.fetchCompleted() else { Issue.record("expected a lookup"); return }
        // Should the other variant's fetch still be registered, never wait on it twice: fetch alone.
        guard case .fetch(let own, let status) = waiter.lookupFinished(
            store.lookup(again, requestFields: waiter.request.fields, now: now), now: now) else {
            Issue.record("expected a fetch of our own"); return
        }
        #expect(own.mode == .hitForMiss)
        #expect(status.forward == .varyMiss)
    }

    /// std.rollback(req) takes the request back to how it arrived; later changes stay (as
    /// Varnish 7.1 answered the same VCL: "/start added= orig=o after=a").
    @Test func rollbackRestoresTheRequestAsItArrived() throws {
        let rolling = try program("""
            sub vcl_recv {
                set req.http.X-Added = "1";
                set req.url = "/changed";
                unset req.http.X-Orig;
                std.rollback(req);
                set req.http.X-After = "a";
                return (synth(201, req.url + " added=" + req.http.X-Added + " orig=" + req.http.X-Orig
                                   + " after=" + req.http.X-After));
            }
            """)
        var f = flow(request("GET", "/start", [("Host", "h"), ("X-Orig", "o")]), program: rolling)
        guard case .synthesize(let response) = f.start(now: now) else { Issue.record("expected synth"); return }
        #expect(response.reason == "/start added= orig=o after=a")
    }

    @Test func pipeForUnknownMethodAndSynthForFailedWait() {
        var f = flow(request("BREW"))
        guard case .pipe(let head, let backend) = f.start(now: now) else { Issue.record("expected pipe"); return }
        #expect(head.method == "BREW")
        #expect(head.fields["X-Forwarded-For"] == "127.0.0.9")
        #expect(backend == "default")
        guard var (waiter, _) = fetcherAndWaiter(CacheStore(budget: 1 << 20)) else { return }
        guard case .synthesize(let response) = waiter.waitFailed() else { Issue.record("expected synth"); return }
        #expect(response.status == 503)
        #expect(response.body.contains("Backend fetch failed"), "the builtin vcl_synth page")
        #expect(response.fields["Retry-After"] == "5")
    }
}
