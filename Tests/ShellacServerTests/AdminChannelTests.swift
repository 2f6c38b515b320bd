// The admin channel over a real socket: authentication, each command's answer and its
// bad-argument answer, counts from purges and bans against a populated cache, VCL loading that
// leaves the active VCL alone on error, and interoperability with Varnish's own varnishadm.

import Foundation
import NIOPosix
import ShellacAdmin
import ShellacServer
import ShellacTestSupport
import Testing

/// A raw admin connection: reads framed responses. Used by one test task at a time.
final class AdminSession: @unchecked Sendable {
    let client: RawClient
    /// Bytes read past the last response (responses to commands sent together arrive together).
    private var unread: [UInt8] = []

    private init(client: RawClient) {
        self.client = client
    }

    static func open(_ port: Int) async throws -> AdminSession {
        AdminSession(client: try await RawClient.connect(port: port, group: MultiThreadedEventLoopGroup.singleton))
    }

    func receive(seconds: Double = 5) async throws -> CLIResponse {
        while true {
            if let response = try CLIResponse.decode(&unread) { return response }
            unread += Array(try await client.readUntil("\n", seconds: seconds).utf8)
        }
    }

    func send(_ line: String) async throws -> CLIResponse {
        try await client.send(line + "\n")
        return try await receive()
    }

    /// Answers the greeting's challenge with `secret`.
    func authenticate(_ secret: String) async throws -> CLIResponse {
        let greeting = try await receive()
        #expect(greeting.status == 107)
        let answer = CLIAuthentication.answer(challenge: String(greeting.body.prefix(32)), secret: Array(secret.utf8))
        return try await send("auth \(answer)")
    }
}

/// A harness with the admin channel open on a free loopback port.
func withAdmin(secret: String = "s3cret\n", vcl: String? = nil, parameters: [String] = [],
               script: @escaping TestOrigin.Script, _ body: (Harness, Int) async throws -> Void) async throws {
    try await withHarness(parameters: parameters, vcl: vcl, script: script) { h in
        let port = try freePort()
        try await h.server.startAdmin(AdminConfiguration(listen: "127.0.0.1:\(port)", secret: Array(secret.utf8)))
        try await body(h, port)
    }
}

@Suite(.timeLimit(.minutes(1))) struct AdminChannelTests {
    @Test func theRightSecretOpensTheChannelAndAWrongOneClosesIt() async throws {
        try await withAdmin(script: { _ in .ok("x") }) { _, port in
            let good = try await AdminSession.open(port)
            let welcome = try await good.authenticate("s3cret\n")
            #expect(welcome.status == 200)
            #expect(try await good.send("ping").body.hasPrefix("PONG "))

            let early = try await AdminSession.open(port)
            _ = try await early.receive()
            let refused = try await early.send("purge /")
            #expect(refused.status == 107, "no command runs before authentication")

            let wrong = try await AdminSession.open(port)
            let failed = try await wrong.authenticate("not the secret\n")
            #expect(failed.status == 500)
            _ = try await wrong.client.readUntilClose(seconds: 2)
        }
    }

    @Test func aConnectionThatDoesNotAuthenticateInTimeIsClosed() async throws {
        // 3 s: a loaded machine can take over a second between a test's connect and its answer.
        try await withAdmin(parameters: ["timeout_req=3s"], script: { _ in .ok("x") }) { _, port in
            // Opened first, so its time is up before the silent one's: once in, a session is not
            // timed (an operator may take a while between commands).
            let good = try await AdminSession.open(port)
            #expect(try await good.authenticate("s3cret\n").status == 200)
            let silent = try await AdminSession.open(port)
            #expect(try await silent.receive().status == 107)
            #expect(try await silent.receive(seconds: 10).body == "Authentication timed out")
            _ = try await silent.client.readUntilClose(seconds: 3)
            #expect(silent.client.isClosed)
            #expect(try await good.send("ping").body.hasPrefix("PONG "))
        }
    }

    @Test func commandsSentTogetherAreAnsweredInOrder() async throws {
        // Each runs off the event loop; the next waits until the one before is answered.
        try await withAdmin(script: { _ in .ok("x") }) { _, port in
            let session = try await AdminSession.open(port)
            #expect(try await session.authenticate("s3cret\n").status == 200)
            try await session.client.send("param.show default_ttl\nping\nparam.set nope 1\nban.list\n")
            #expect(try await session.receive().body.hasPrefix("default_ttl"))
            #expect(try await session.receive().body.hasPrefix("PONG "))
            #expect(try await session.receive().status == 106)
            #expect(try await session.receive().body.hasPrefix("Present bans:"))
        }
    }

    @Test func purgeAndBanSayHowManyObjectsTheyTook() async throws {
        try await withAdmin(script: { request in
            .ok("page", [("Cache-Control", "max-age=60"), ("X-Section", request.path.hasPrefix("/news") ? "news" : "other")])
        }) { h, port in
            for path in ["/news/1", "/news/2", "/about"] { _ = try await h.get(path) }
            let admin = try await AdminSession.open(port)
            _ = try await admin.authenticate("s3cret\n")
            #expect(try await admin.send("purge /about").body == "Purged 1 object")
            #expect(try await admin.send("purge /about example.com").body == "Purged 0 objects")
            #expect(try await admin.send("ban obj.http.X-Section == news").body == "Banned 2 objects")
            #expect(h.server.store.objects == 0)
            _ = try await h.get("/news/1")
            let lazy = try await admin.send("ban req.url ~ ^/news/")
            #expect(lazy.status == 200)
            #expect(lazy.body.contains("applies to the 1 object"))
            #expect(try await admin.send("ban.list").body.contains("req.url ~ ^/news/"))
            let json = try await admin.send("ban.list -j")
            let parsed = try JSONSerialization.jsonObject(with: Data(json.body.utf8)) as? [[String: Any]]
            #expect(parsed?.first?["expression"] as? String == "req.url ~ ^/news/")
            let response1 = try await h.get("/news/1")
            #expect(response1.header("Cache-Status")?.contains("hit") == false)
            let bad = try await admin.send("ban req.url ~ (")
            #expect(bad.status == 106)
            #expect(bad.body.contains("invalid regular expression"))
        }
    }

    @Test func vclLoadUseListDiscardShow() async throws {
        let directory = NSTemporaryDirectory() + "shellac-admin-vcl-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withAdmin(script: { _ in .ok("page") }) { h, port in
            let good = directory + "/good.vcl"
            try "vcl 4.1;\nbackend b { .host = \"127.0.0.1\"; .port = \"\(h.origin.port)\"; }\nsub vcl_deliver { set resp.http.X-VCL = \"good\"; }\n"
                .write(toFile: good, atomically: true, encoding: .utf8)
            let broken = directory + "/broken.vcl"
            try "vcl 4.1;\nsub vcl_recv { set req.http.X = resp.http.Y; }\n".write(toFile: broken, atomically: true,
                                                                                 encoding: .utf8)
            let admin = try await AdminSession.open(port)
            _ = try await admin.authenticate("s3cret\n")
            let failed = try await admin.send("vcl.load bad \(broken)")
            #expect(failed.status == 106)
            #expect(failed.body.contains("broken.vcl:2:33: error: 'resp.http.Y' is not available in vcl_recv"))
            #expect(try await admin.send("vcl.use bad").status == 106)
            #expect(h.server.activeVCL.name == "boot", "a broken VCL leaves the active one running")
            #expect(try await admin.send("vcl.load good \(good)").status == 200)
            #expect(try await admin.send("vcl.load good \(good)").status == 106, "names are unique")
            #expect(try await admin.send("vcl.show good").body.contains("X-VCL"))
            #expect(try await admin.send("vcl.use good").status == 200)
            let response2 = try await h.get("/")
            #expect(response2.header("X-VCL") == "good")
            #expect(try await admin.send("vcl.list").body == "available  boot\nactive     good")
            #expect(try await admin.send("vcl.discard good").status == 300, "the active VCL cannot be discarded")
            #expect(try await admin.send("vcl.discard boot").status == 200)
            #expect(try await admin.send("vcl.list").body == "active     good")
        }
    }

    /// Each event loop keeps its own copy of the VCL in use and the per-request parameters: a change
    /// reaches the next request on every loop (requests here come on new connections, spread over
    /// the harness's two loops).
    @Test func aChangedParameterOrVCLAppliesToTheNextRequests() async throws {
        let directory = NSTemporaryDirectory() + "shellac-admin-next-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // No Cache-Control: the lifetime is default_ttl.
        try await withAdmin(script: { _ in .ok("page", []) }) { h, port in
            let admin = try await AdminSession.open(port)
            _ = try await admin.authenticate("s3cret\n")
            for path in ["/a", "/b", "/c", "/d"] {
                _ = try await h.get(path)
                _ = try await h.get(path)
                #expect(h.origin.count(path: path) == 2, "default_ttl 0 (the default): not stored")
            }
            #expect(try await admin.send("param.set default_ttl 2m").status == 200)
            for path in ["/e", "/f", "/g", "/h"] {
                _ = try await h.get(path)
                _ = try await h.get(path)
                #expect(h.origin.count(path: path) == 1, "stored for the new default_ttl")
            }
            let marked = directory + "/marked.vcl"
            try "vcl 4.1;\nbackend b { .host = \"127.0.0.1\"; .port = \"\(h.origin.port)\"; }\nsub vcl_deliver { set resp.http.X-VCL = \"marked\"; }\n"
                .write(toFile: marked, atomically: true, encoding: .utf8)
            #expect(try await admin.send("vcl.load marked \(marked)").status == 200)
            #expect(try await admin.send("vcl.use marked").status == 200)
            for path in ["/a", "/b", "/e", "/i"] {
                #expect(try await h.get(path).header("X-VCL") == "marked")
            }
        }
    }

    @Test func backendsParametersStatsAndBadArguments() async throws {
        try await withAdmin(script: { _ in .ok("page") }) { h, port in
            let admin = try await AdminSession.open(port)
            _ = try await admin.authenticate("s3cret\n")
            #expect(try await admin.send("backend.list").body.contains("default             auto     -           healthy"))
            #expect(try await admin.send("backend.set_health default sick").status == 200)
            let response3 = try await h.get("/x")
            #expect(response3.status == 503)
            let list = try await admin.send("backend.list -j")
            let backends = try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [[String: Any]]
            #expect(backends?.first?["healthy"] as? Bool == false)
            #expect(backends?.first?["admin"] as? String == "sick")
            #expect(try await admin.send("backend.set_health default auto").status == 200)
            let response4 = try await h.get("/x")
            #expect(response4.status == 200)
            #expect(try await admin.send("backend.set_health default maybe").body == "'maybe': expected auto, healthy or sick")
            #expect(try await admin.send("backend.set_health nobody sick").status == 106)

            #expect(try await admin.send("param.set default_grace 1m").body == "default_grace = 60 [seconds]")
            #expect(try await admin.send("param.show default_grace").body.contains("Value: 60 [seconds]"))
            #expect(try await admin.send("param.set threads 8").status == 300)
            #expect(try await admin.send("param.set default_grace soon").status == 106)
            #expect(try await admin.send("param.set nope 1").status == 106)

            let stats = try await admin.send("stats -j")
            let counters = try JSONSerialization.jsonObject(with: Data(stats.body.utf8)) as? [String: Any]
            #expect(counters?["client_req"] as? Int == 2)
            #expect(try await admin.send("stats").body.contains("client_req"))

            #expect(try await admin.send("purge").status == 104)
            #expect(try await admin.send("ping now").status == 105)
            #expect(try await admin.send("vcl.frobnicate").status == 101)
            #expect(try await admin.send("ping -j").status == 106)
            #expect(try await admin.send("help").body.contains("backend.set_health NAME auto|healthy|sick"))
            #expect(try await admin.send("help purge").body.hasPrefix("purge URL [HOST]"))
            #expect(try await admin.send("ban \"unclosed").status == 100)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/varnishadm")))
    func varnishadmDrivesShellacd() async throws {
        let secretFile = NSTemporaryDirectory() + "shellac-secret-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try "interop\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        defer { unlink(secretFile) }
        try await withAdmin(secret: "interop\n", script: { _ in .ok("page") }) { _, port in
            let ping = try await runTool("/usr/bin/varnishadm", ["-T", "127.0.0.1:\(port)", "-S", secretFile, "ping"])
            #expect(ping.status == 0)
            #expect(ping.output.hasPrefix("PONG "))
            let list = try await runTool("/usr/bin/varnishadm", ["-T", "127.0.0.1:\(port)", "-S", secretFile, "backend.list"])
            #expect(list.output.contains("default"))
            let wrong = try await runTool("/usr/bin/varnishadm", ["-T", "127.0.0.1:\(port)", "-S", "/dev/null", "ping"])
            #expect(wrong.status != 0)
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct AdminUnixSocketTests {
    @Test func theChannelListensOnAPrivateUnixSocket() async throws {
        let base = NSTemporaryDirectory() + "shellac-adm-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        let socketPath = base + ".sock"
        let secretPath = base + ".secret"
        try "unix secret\n".write(toFile: secretPath, atomically: true, encoding: .utf8)
        defer {
            unlink(socketPath)
            unlink(secretPath)
        }
        try await withHarness(script: { _ in .ok("page") }) { h in
            try await h.server.startAdmin(AdminConfiguration(listen: "unix:\(socketPath)",
                                                             secret: Array("unix secret\n".utf8)))
            let attributes = try FileManager.default.attributesOfItem(atPath: socketPath)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let adm = try shellacdPath().replacingOccurrences(of: "/shellacd", with: "/shellacadm")
            let status = try await runTool(adm, ["-T", "unix:\(socketPath)", "-S", secretPath, "status"])
            #expect(status.status == 0)
            #expect(status.output == "Child in state running\n")
            try "another secret\n".write(toFile: secretPath, atomically: true, encoding: .utf8)
            let wrong = try await runTool(adm, ["-T", "unix:\(socketPath)", "-S", secretPath, "status"])
            #expect(wrong.status == 2)
            #expect(wrong.output.contains("authentication failed"))
            let missing = try await runTool(adm, ["-T", "unix:\(socketPath)", "-S", base + ".nonexistent", "status"])
            #expect(missing.status == 2)
            #expect(missing.output.contains("the secret file \(base).nonexistent cannot be read"))
        }
    }
}

/// Runs a tool to completion (bounded), returning its exit status and output.
func runTool(_ path: String, _ arguments: [String], seconds: Double = 10) async throws -> RunResult {
    let child = try ChildProcess(path, arguments)
    if await child.exit(within: seconds) == nil {
        child.terminate()
        _ = await child.exit(within: 5)
    }
    return RunResult(status: child.terminationStatus, output: child.output)
}

@Suite(.timeLimit(.minutes(1))) struct TagPurgeTests {
    static let tagged: TestOrigin.Script = { request in
        let tags = request.path == "/a" ? "post-1 home" : "post-2 home"
        return .ok("page \(request.path)", [("Cache-Control", "max-age=60"), ("Surrogate-Key", tags)])
    }

    @Test func tagsAreKeptOutOfResponsesAndPurgedByTheAdminChannel() async throws {
        try await withAdmin(script: Self.tagged) { h, port in
            let first = try await h.get("/a")
            #expect(first.header("Surrogate-Key") == nil, "tags are stripped before delivery")
            _ = try await h.get("/b")
            let admin = try await AdminSession.open(port)
            _ = try await admin.authenticate("s3cret\n")
            #expect(try await admin.send("inspect /a").body.contains("tags:   post-1 home"))
            #expect(try await admin.send("purge.tag post-1").body == "Purged 1 object")
            #expect(try await admin.send("purge.tag nothing-tagged").body == "Purged 0 objects")
            _ = try await h.get("/a")
            _ = try await h.get("/b")
            #expect(h.origin.requests.map(\.path) == ["/a", "/b", "/a"])

            // Soft: stale at once, still served (grace) while one background fetch refreshes it.
            #expect(try await admin.send("purge.tag.soft home").body == "Soft-purged 2 objects")
            let stale = try await h.get("/b")
            #expect(stale.header("Cache-Status")?.contains("fwd=stale") == true)
            let refreshed = try await eventually { h.origin.requests.count == 4 }
            #expect(refreshed)
            #expect(try await admin.send("purge.soft /a").body == "Soft-purged 1 object")
            #expect(try await h.get("/a").header("Cache-Status")?.contains("fwd=stale") == true)
        }
    }

    @Test func vclPurgesTagsLikeXkey() async throws {
        let vcl = """
        vcl 4.1;
        import xkey;
        backend b { .host = "127.0.0.1"; .port = "ORIGIN_PORT"; }
        acl purgers { "127.0.0.1"; }
        sub vcl_recv {
            if (req.method == "PURGE" && req.http.xkey-purge) {
                if (client.ip !~ purgers) { return (synth(403, "Forbidden")); }
                set req.http.n = xkey.purge(req.http.xkey-purge);
                return (synth(200, "Purged " + req.http.n + " objects"));
            }
        }
        """
        try await withHarness(vcl: vcl, script: Self.tagged) { h in
            _ = try await h.get("/a")
            _ = try await h.get("/b")
            let purge = try await h.get("/", [("xkey-purge", "home")], method: "PURGE")
            #expect(purge.status == 200)
            #expect(purge.text.contains("Purged 2 objects"))
            _ = try await h.get("/a")
            #expect(h.origin.requestCount == 3)
        }
    }
}
