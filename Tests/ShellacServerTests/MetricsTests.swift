// Prometheus metrics scraped over HTTP and parsed: counters, gauges, per-backend health and the
// backend first-byte histogram.

import Foundation
import ShellacTestSupport
import Testing
@testable import ShellacServer

@Suite struct MetricsTests {
    /// "name{labels} value" lines as a dictionary (comments skipped).
    static func parse(_ text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            values[String(line[..<space])] = value
        }
        return values
    }

    @Test func idleScrapeConnectionsAreClosed() async throws {
        // 2 s: a loaded machine can take over a second between a test's connect and its request.
        try await withHarness(parameters: ["timeout_idle=2s"], script: { _ in .ok("page") }) { h in
            let port = try freePort()
            try await h.server.startMetrics(host: "127.0.0.1", port: port)
            let silent = try await RawClient.connect(port: port, group: h.clients)
            let scraper = try await RawClient.connect(port: port, group: h.clients)
            try await scraper.send("GET /metrics HTTP/1.1\r\nHost: metrics\r\n\r\n")
            #expect(try await scraper.readResponse().status == 200)
            _ = try await scraper.readUntilClose(seconds: 8)
            #expect(scraper.isClosed, "kept open after its scrape")
            _ = try await silent.readUntilClose(seconds: 8)
            #expect(silent.isClosed, "kept open without a request")
        }
    }

    @Test func scrapedMetricsCountWhatHappened() async throws {
        try await withHarness(script: { _ in .ok("page") }) { h in
            let port = try freePort()
            try await h.server.startMetrics(host: "127.0.0.1", port: port)
            _ = try await h.get("/a")
            _ = try await h.get("/a")
            _ = try await h.get("/b", method: "POST")
            let scrape = try await RawClient.connect(port: port, group: h.clients)
            try await scrape.send("GET /metrics HTTP/1.1\r\nHost: metrics\r\n\r\n")
            let response = try await scrape.readResponse()
            await scrape.close()
            #expect(response.status == 200)
            #expect(response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let values = Self.parse(response.text)
            #expect(values["shellac_requests_total"] == 3)
            #expect(values["shellac_cache_hits_total"] == 1)
            #expect(values["shellac_cache_misses_total"] == 1)
            #expect(values["shellac_passes_total"] == 1)
            #expect(values["shellac_objects"] == 1)
            #expect((values["shellac_bytes_stored"] ?? 0) > 0)
            #expect(values["shellac_backend_healthy{backend=\"default\"}"] == 1)
            #expect(values["shellac_backend_first_byte_seconds_count{backend=\"default\"}"] == 2)
            #expect(values["shellac_backend_first_byte_seconds_bucket{backend=\"default\",le=\"+Inf\"}"] == 2)
            #expect((values["shellac_backend_first_byte_seconds_sum{backend=\"default\"}"] ?? 0) > 0)
            #expect(response.text.contains("# TYPE shellac_backend_first_byte_seconds histogram"))
            #expect(values["shellac_backend_fetches_total{backend=\"default\"}"] == 2)
            #expect(response.text.contains("# TYPE shellac_requests_total counter"))

            _ = try await h.get("/a")
            let again = Self.parse(h.server.metricsText)
            #expect(again["shellac_requests_total"] == 4, "counters keep counting between scrapes")
            #expect(again["shellac_cache_hits_total"] == 2)
        }
    }
}

@Suite struct LatencyHistogramTests {
    @Test func bucketsAreCumulativeWithSumAndCount() {
        let histogram = LatencyHistogram(bounds: [.milliseconds(1), .milliseconds(10), .seconds(2.5)])
        for seconds in [0.0005, 0.001, 0.003, 2, 20, -0.25] {
            histogram.record(seconds: seconds)
        }
        #expect(histogram.samples(name: "x_seconds", labels: "backend=\"b\"") == """
            x_seconds_bucket{backend="b",le="0.001"} 3
            x_seconds_bucket{backend="b",le="0.01"} 4
            x_seconds_bucket{backend="b",le="2.5"} 5
            x_seconds_bucket{backend="b",le="+Inf"} 6
            x_seconds_sum{backend="b"} 22.0045
            x_seconds_count{backend="b"} 6

            """)
    }
}
