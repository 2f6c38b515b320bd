// r: Range requests answered from cached and streaming objects.

import ShellacServer
import ShellacTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct RangeTests {
    static let body = String((0..<1000).map { Character(UnicodeScalar(UInt8(65 + $0 % 26))) })

    @Test func aMissFetchesTheWholeObjectAndTheClientStillGetsItsRange() async throws {
        try await withHarness(script: { _ in .ok(Self.body, [("Cache-Control", "max-age=60"), ("ETag", "\"r\"")]) }) { h in
            let miss = try await h.get("/r", [("Range", "bytes=10-19")])
            #expect(miss.status == 206)
            #expect(miss.text == String(Self.body.dropFirst(10).prefix(10)))
            #expect(miss.header("Content-Range") == "bytes 10-19/1000")
            #expect(h.origin.requests.first?.header("Range") == nil, "the cache fetches the full object")
            let hit = try await h.get("/r", [("Range", "bytes=-5")])
            #expect(hit.status == 206)
            #expect(hit.text == String(Self.body.suffix(5)))
            #expect(hit.header("Cache-Status")?.contains("hit") == true)
            // A hit's 206 is the stored head with its range: the origin's fields, one Content-Range,
            // the range's Content-Length.
            #expect(hit.header("Content-Range") == "bytes 995-999/1000" && hit.header("Content-Length") == "5")
            #expect(hit.header("ETag") == "\"r\"" && hit.header("Cache-Control") == "max-age=60")
            #expect(hit.headers.filter { $0.0.lowercased().hasPrefix("content-") }.count == 2)
            #expect(h.origin.count(path: "/r") == 1)
        }
    }

    @Test func unsatisfiableIs416AndMalformedIsTheFullBody() async throws {
        try await withHarness(script: { _ in .ok(Self.body, [("Cache-Control", "max-age=60"), ("ETag", "\"r\"")]) }) { h in
            _ = try await h.get("/r")
            let unsatisfiable = try await h.get("/r", [("Range", "bytes=5000-")])
            #expect(unsatisfiable.status == 416)
            #expect(unsatisfiable.header("Content-Range") == "bytes */1000")
            for header in ["bytes=9-3", "bytes=0-1,4-5", "pages=1-2"] {
                let full = try await h.get("/r", [("Range", header)])
                #expect(full.status == 200, "\(header)")
                #expect(full.body.count == 1000)
            }
            let staleValidator = try await h.get("/r", [("Range", "bytes=0-9"), ("If-Range", "\"old\"")])
            #expect(staleValidator.status == 200)
            let currentValidator = try await h.get("/r", [("Range", "bytes=0-9"), ("If-Range", "\"r\"")])
            #expect(currentValidator.status == 206)
        }
    }

    @Test func coalescedWaitersEachGetTheirOwnRangeFromTheStream() async throws {
        try await withHarness(script: { _ in .ok(Self.body, delayMilliseconds: 200) }) { h in
            let ranges = [(0, 9), (500, 599), (990, 999)]
            let results = try await withThrowingTaskGroup(of: (Int, Int, TestResponse).self) { group in
                for (first, last) in ranges {
                    group.addTask { (first, last, try await h.get("/s", [("Range", "bytes=\(first)-\(last)")])) }
                }
                group.addTask { (0, 999, try await h.get("/s")) }
                var all: [(Int, Int, TestResponse)] = []
                for try await result in group { all.append(result) }
                return all
            }
            for (first, last, response) in results {
                let expected = String(Self.body.dropFirst(first).prefix(last - first + 1))
                #expect(response.text == expected)
                #expect(response.status == (last - first == 999 ? 200 : 206))
            }
            #expect(h.origin.count(path: "/s") == 1)
        }
    }

    @Test func passedRangeRequestsAreTheBackendsBusiness() async throws {
        try await withHarness(script: { request in
            .ok("backend saw \(request.header("Range") ?? "none")", [("Cache-Control", "no-store")])
        }) { h in
            let response = try await h.get("/p", [("Range", "bytes=0-3"), ("Cookie", "a=1")])
            #expect(response.status == 200)
            #expect(response.text == "backend saw bytes=0-3")
        }
    }
}
