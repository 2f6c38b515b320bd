// The access log: NCSA combined lines with the cache's handling and time to first byte, and a
// reopen after rotation.

import Foundation
import ShellacServer
import Testing

@Suite struct AccessLogTests {
    @Test func linesSayWhatHappenedAndReopenFollowsRotation() async throws {
        let directory = NSTemporaryDirectory() + "shellac-log-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/access.log"
        let log = try AccessLog(path: path)
        try await withHarness(accessLog: log, script: { _ in .ok("0123456789") }) { h in
            _ = try await h.get("/page?x=1", [("User-Agent", "tester \"quoted\""), ("Referer", "http://r/")])
            _ = try await h.get("/page?x=1")
            _ = try await h.get("/", method: "POST")
            log.flush()
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            let pattern = #"^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /page\?x=1 HTTP/1\.1" 200 10 "http://r/" "tester \\"quoted\\"" miss \d+\.\d{6}$"#
            #expect(lines[0].range(of: pattern, options: .regularExpression) != nil, "\(lines[0])")
            #expect(lines[1].contains("\"GET /page?x=1 HTTP/1.1\" 200 10 \"-\" \"-\" hit "))
            #expect(lines[2].contains("\"POST / HTTP/1.1\" 200 10 \"-\" \"-\" pass "))
            // Time to first byte: measured (a fetch over loopback takes more than nothing) and
            // from this request's arrival.
            for line in lines {
                let seconds = line.split(separator: " ").last.flatMap { Double($0) } ?? -1
                #expect(seconds > 0 && seconds < 10, "\(line)")
            }

            try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
            try log.reopen()
            _ = try await h.get("/after")
            log.flush()
            let fresh = try String(contentsOfFile: path, encoding: .utf8)
            #expect(fresh.contains("GET /after HTTP/1.1"))
            #expect(!(try String(contentsOfFile: path + ".1", encoding: .utf8)).contains("/after"))
        }
    }
}
