// shellac-microbench: nanoseconds per operation for the pure parts of the hit path — request
// parsing, running the client-side VCL of a hit (builtin only, and config/default.vcl), a store
// lookup, a store insert (replacing, and evicting past the budget), and serialising a response
// head. Run with:
//   "$(bash scripts/build-release.sh shellac-microbench)/shellac-microbench" [ITERATIONS] [NAME-FILTER]
//   (BENCH_VCL=file.vcl measures that file instead of config/default.vcl)
// Numbers are per operation, the median of 5 runs; compare them between commits, not machines.

import Foundation
import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore
import ShellacVCL

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
let filter = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : ""

func measure(_ name: String, _ body: () -> Void) {
    guard filter.isEmpty || name.contains(filter) else { return }
    var runs: [Double] = []
    for _ in 0..<5 {
        let start = ContinuousClock.now
        for _ in 0..<iterations { body() }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        runs.append(seconds / Double(iterations) * 1e9)
    }
    runs.sort()
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%9.0f ns/op", runs[2]))
}

func load(_ path: String, text: String) -> VCLProgram {
    let compilation = VCLCompiler.compile(path: path) { $0 == path ? text : nil }
    switch VCLProgram.load(compilation) {
    case .success(let program): return program
    case .failure(let error): fatalError(error.rendered)
    }
}

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
// BENCH_VCL=path measures another VCL file in place of config/default.vcl.
let realisticPath = ProcessInfo.processInfo.environment["BENCH_VCL"] ?? root + "/config/default.vcl"
let defaultText = (try? String(contentsOfFile: realisticPath, encoding: .utf8)) ?? ""
let builtin = load("<-b>", text: "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; .port = \"8000\"; }\n")
let realistic = load(realisticPath, text: defaultText)

// BENCH_URL=/path?query requests another URL (the default's query is not sorted: querysort works).
let benchURL = ProcessInfo.processInfo.environment["BENCH_URL"] ?? "/bench?size=1024&ms=0&cc=max-age=3600"
let requestText = "GET \(benchURL) HTTP/1.1\r\nHost: example.com\r\n"
    + "User-Agent: wrk\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n\r\n"
func parseHead() -> HTTPRequestHead? {
    var parser = HTTPRequestParser(limits: HTTPParserLimits())
    var buffer = ByteBuffer(string: requestText)
    if case .head(let head)? = try? parser.next(from: &buffer) { return head }
    return nil
}
measure("parse a request head") { _ = parseHead() }
let head = parseHead()!

let store = CacheStore(budget: 1 << 26)
let key = CacheKey(parts: ["/bench?cc=max-age=3600&ms=0&size=1024", "example.com"])
let object = StoredObject(key: key, status: 200, reason: "OK",
                          fields: HTTPFields([("Content-Type", "text/plain"), ("Cache-Control", "max-age=3600"),
                                              ("Date", "Fri, 27 Nov 2026 03:00:00 GMT"), ("Via", "1.1 shellac")]),
                          body: [ByteBuffer(repeating: 0x61, count: 1024)], varyNames: [], varyValues: [],
                          storedAt: 1_800_000_000, initialAge: 0, ttl: 3600, grace: 10, keep: 0)
store.insert(object, completing: nil, now: 1_800_000_000)
let keyBuiltin = CacheKey(parts: [benchURL, "example.com"])
store.insert(StoredObject(key: keyBuiltin, status: 200, reason: "OK", fields: HTTPFields([("A", "b")]),
                          body: [ByteBuffer(repeating: 0x61, count: 1024)], varyNames: [], varyValues: [],
                          storedAt: 1_800_000_000, initialAge: 0, ttl: 3600, grace: 10, keep: 0),
             completing: nil, now: 1_800_000_000)

measure("store lookup (hit)") {
    _ = store.lookup(key, requestFields: head.fields, now: 1_800_000_001)
}

// Inserts make their object first, as a fetch does: the head serialised and the body copied into
// its exactly-sized storage, then the store's work (key table, LRU, budget, evictions).
let insertFields = object.fields
let insertBody = [ByteBuffer(repeating: 0x61, count: 1024)]
func makeObject(_ key: CacheKey) -> StoredObject {
    StoredObject(key: key, status: 200, reason: "OK", fields: insertFields, body: insertBody,
                 varyNames: [], varyValues: [], storedAt: 1_800_000_000, initialAge: 0, ttl: 3600, grace: 10, keep: 0)
}
let replacing = CacheStore(budget: 1 << 26)
measure("store insert (1 KiB, replacing one key)") {
    _ = replacing.insert(makeObject(key), completing: nil, now: 1_800_000_000)
}
// A budget of about a thousand objects and four times as many keys in turn: every insert past
// the first thousand evicts the least recently used object.
let evicting = CacheStore(budget: 1_000 * 1_600)
let insertKeys = (0..<4_096).map { CacheKey(parts: ["/bench/\($0)", "example.com"]) }
var nextKey = 0
measure("store insert (1 KiB, new keys, evicting)") {
    _ = evicting.insert(makeObject(insertKeys[nextKey]), completing: nil, now: 1_800_000_000)
    nextKey = (nextKey + 1) & 4_095
}
precondition(evicting.objects == 0 || evicting.evictions > 0, "the evicting inserts evicted nothing")

func hitFlow(_ program: VCLProgram) {
    var flow = RequestFlow(request: head, addresses: ClientAddresses(client: "127.0.0.1", server: "127.0.0.1"),
                           requestID: "1", program: program, maxWaiters: 10, maxRestarts: 4, now: 1_800_000_001,
                           services: .none)
    guard case .lookup(let key) = flow.start(now: 1_800_000_001) else { fatalError("expected a lookup") }
    let result = store.lookup(key, requestFields: flow.request.fields, now: 1_800_000_001)
    guard case .deliverHit = flow.lookupFinished(result, now: 1_800_000_001) else { fatalError("expected a hit") }
}
measure("hit: flow with the builtin VCL (-b)") { hitFlow(builtin) }
measure("hit: flow with config/default.vcl") { hitFlow(realistic) }

let trackingRegex = try! VCLRegex("(\\?|&)(utm_[a-z]+|gclid|fbclid|mc_cid|mc_eid|_ga)=")
let sampleURL = "/bench?cc=max-age=3600&ms=0&size=1024"
measure("regex match (default.vcl's tracking pattern)") { _ = trackingRegex.matches(sampleURL) }

measure("serialise a full response head") {
    var buffer = ByteBufferAllocator().buffer(capacity: 512)
    buffer.writeString("HTTP/1.1 200 OK\r\n")
    buffer.writeHTTPFields(object.fields)
    buffer.writeStaticString("\r\n")
}
