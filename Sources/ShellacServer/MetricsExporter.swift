// MetricsExporter: the Prometheus view of the daemon, through swift-prometheus's collector
// registry. Counters are brought up to date from Shellac's own counters when scraped (so the hot
// path pays nothing extra), gauges are set then too, and backend time to first byte is recorded
// into a lock-free histogram per backend (LatencyHistogram) as fetches happen, written after the
// registry's text. Served as /metrics on its own loopback listener.

import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Synchronization

final class MetricsExporter: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// What each Prometheus counter was last brought up to, by counter label.
    private let reported = Mutex<[String: Int]>([:])

    /// Descriptive names for the counters operators look for first; every counter is exported.
    static let names: [String: (name: String, help: String)] = [
        "client_req": ("requests", "Client requests received"),
        "cache_hit": ("cache_hits", "Requests answered from the cache (grace hits included)"),
        "cache_miss": ("cache_misses", "Requests that fetched an object for the cache"),
        "s_pass": ("passes", "Requests passed to a backend, never stored"),
        "cache_hitmiss": ("hit_for_miss", "Requests for a key marked uncacheable (hit-for-miss)"),
        "cache_hit_grace": ("grace_hits", "Stale objects served within grace while refreshed"),
        "busy_sleep": ("coalesced_waits", "Requests that waited on another request's fetch"),
        "s_fetch": ("backend_requests", "Requests sent to backends"),
        "fetch_failed": ("backend_failures", "Backend fetches that failed"),
        "n_purges": ("purges", "Purges (PURGE, purge commands, tag purges)"),
        "bans_added": ("bans", "Bans added"),
        "bans_lurker_obj_killed_cutoff": ("ban_cutoff_removals", "Objects removed because the ban list outgrew ban_cutoff"),
        "sess_fail": ("accept_failures", "Failed accepts of client connections (out of file descriptors)"),
        "sc_tx_error": ("send_timeouts", "Client connections closed for not taking their responses"),
    ]

    static let firstByteBuckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10),
                                               .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                               .milliseconds(250), .milliseconds(500), .seconds(1),
                                               .seconds(2.5), .seconds(5), .seconds(10)]

    /// One backend's metric objects, made in the registry once and held by its pools: asking the
    /// registry for them by name and labels on every fetch cost more than the fetch's own parsing.
    /// A class: a fetch that holds them copies one reference, not three.
    final class BackendMetrics: Sendable {
        let firstByte: LatencyHistogram
        let fetches: Counter
        let failures: Counter

        init(firstByte: LatencyHistogram, fetches: Counter, failures: Counter) {
            self.firstByte = firstByte
            self.fetches = fetches
            self.failures = failures
        }

        func recordFirstByte(seconds: Double) {
            firstByte.record(seconds: seconds)
        }

        /// A fetch sent to the backend, and whether it failed.
        func recordFetch(failed: Bool) {
            fetches.increment()
            if failed { failures.increment() }
        }
    }

    private let backendMetrics = Mutex<[String: BackendMetrics]>([:])

    func metrics(for backend: String) -> BackendMetrics {
        if let known = backendMetrics.withLock({ $0[backend] }) { return known }
        let labels = [("backend", backend)]
        let made = BackendMetrics(
            firstByte: LatencyHistogram(bounds: Self.firstByteBuckets),
            fetches: registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "shellac", metricName: "backend_fetches", unitName: "total",
                                                 helpText: "Fetches sent to a backend"),
                labels: labels),
            failures: registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "shellac", metricName: "backend_fetch_failures",
                                                 unitName: "total", helpText: "Fetches to a backend that failed"),
                labels: labels))
        return backendMetrics.withLock { known in
            if let existing = known[backend] { return existing }
            known[backend] = made
            return made
        }
    }

    /// The exposition text, every value brought up to date.
    func scrape(statistics: [(String, Int)], backends: [BackendStatus]) -> String {
        let gauges: Set<String> = ["n_object", "g_bytes", "bans"]
        reported.withLock { reported in
            for (label, value) in statistics where !gauges.contains(label) {
                let known = Self.names[label]
                let counter = registry.makeCounter(
                    descriptor: MetricNameDescriptor(namespace: "shellac", metricName: known?.name ?? label,
                                                     unitName: "total", helpText: known?.help ?? "varnishstat \(label)"))
                let delta = value - (reported[label] ?? 0)
                if delta > 0 { counter.increment(by: Int64(delta)) }
                reported[label] = value
            }
        }
        let values = Dictionary(statistics, uniquingKeysWith: { a, _ in a })
        for (label, name, help) in [("n_object", "objects", "Objects stored"),
                                    ("g_bytes", "bytes_stored", "Bytes of memory the stored objects and hit-for-miss markers take"),
                                    ("bans", "bans_active", "Bans still being applied")] {
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "shellac", metricName: name, unitName: "",
                                                                helpText: help)).set(to: Double(values[label] ?? 0))
        }
        for backend in backends {
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "shellac", metricName: "backend_healthy",
                                                                unitName: "", helpText: "1 when the backend is healthy"),
                               labels: [("backend", backend.name)]).set(to: backend.healthy ? 1 : 0)
        }
        return registry.emitToString() + firstByteText()
    }

    /// The first-byte histograms of every backend that has been fetched from.
    private func firstByteText() -> String {
        let name = "shellac_backend_first_byte_seconds"
        let backends = backendMetrics.withLock { $0 }.sorted { $0.key < $1.key }
        guard !backends.isEmpty else { return "" }
        var text = "# HELP \(name) Time from sending a backend request to its response head\n# TYPE \(name) histogram\n"
        // Backend names are VCL identifiers: nothing in them needs escaping in a label value.
        for (backend, metrics) in backends {
            text += metrics.firstByte.samples(name: name, labels: "backend=\"\(backend)\"")
        }
        return text
    }
}

/// Serves GET /metrics over HTTP/1.1 (NIOHTTP1: a plain scrape endpoint, not the proxy's path).
final class MetricsHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let scrape: @Sendable () -> String
    private var path = ""

    init(scrape: @escaping @Sendable () -> String) {
        self.scrape = scrape
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)  // no request for timeout_idle
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.method == .GET ? head.uri : ""
        case .body:
            break
        case .end:
            let found = path == "/metrics" || path.hasPrefix("/metrics?")
            let body = found ? scrape() : "Not found: metrics are at /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound,
                                                                 headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
