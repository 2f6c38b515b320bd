// BackendHealth: every backend's health, shared by all event loops. Three inputs decide it: the
// probe window (when the backend has a probe), an operator's override (auto, healthy, sick), and
// passive health — after `backend_failure_threshold` connection failures in a row a backend is
// sick until a probe succeeds or, without a probe, for `backend_sick_retry`, after which one
// request may try again.

import ShellacCore
import ShellacVCL
import Synchronization

public enum HealthOverride: String, Sendable, CaseIterable {
    case auto, healthy, sick
}

/// One backend's health as `backend.list` shows it.
public struct BackendStatus: Sendable, Equatable {
    public var name: String
    public var healthy: Bool
    public var override: HealthOverride
    /// The probe window (`H` good, `-` bad, oldest first), nil without a probe.
    public var probeWindow: String?
    public var consecutiveFailures: Int
    public var passivelySick: Bool
}

final class BackendHealth: Sendable {
    struct Entry: Sendable {
        var probe: HealthWindow?
        var probeDefinition: ProbeDefinition?
        var override = HealthOverride.auto
        var consecutiveFailures = 0
        var sickUntil: Double?
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// How many backends have passive failures on record (changed under the lock): while none
    /// has, a successful fetch has nothing to clear and takes no lock.
    private let failing = Atomic<Int>(0)
    /// How many backends could be found sick (a probe, an override to sick, or a sick spell on
    /// record; changed under the lock): while none could, every backend is healthy and asking
    /// takes no lock.
    private let couldBeSick = Atomic<Int>(0)
    private let failureThreshold: Int
    private let sickRetry: Double

    init(failureThreshold: Int, sickRetry: Double) {
        self.failureThreshold = failureThreshold
        self.sickRetry = sickRetry
    }

    /// A (re)loaded VCL's backends: probe windows start fresh when a probe is new or changed;
    /// everything else about a backend of the same name carries over.
    func configure(_ backends: [BackendDefinition]) {
        entries.withLock { entries in
            for backend in backends {
                var entry = entries[backend.name] ?? Entry()
                if entry.probeDefinition != backend.probe {
                    entry.probeDefinition = backend.probe
                    entry.probe = backend.probe.map {
                        HealthWindow(window: $0.window, threshold: $0.threshold, initial: $0.initial)
                    }
                }
                store(entry, for: backend.name, in: &entries)
            }
        }
    }

    func isHealthy(_ name: String, now: Double) -> Bool {
        guard couldBeSick.load(ordering: .relaxed) > 0 else { return true }
        return entries.withLock { entries in
            guard let entry = entries[name] else { return true }
            return Self.healthy(entry, now: now)
        }
    }

    private static func healthy(_ entry: Entry, now: Double) -> Bool {
        switch entry.override {
        case .healthy: return true
        case .sick: return false
        case .auto:
            if let until = entry.sickUntil, entry.probe != nil || now < until { return false }
            return entry.probe?.isHealthy ?? true
        }
    }

    func setOverride(_ override: HealthOverride, for name: String) {
        entries.withLock { entries in
            var entry = entries[name] ?? Entry()
            entry.override = override
            store(entry, for: name, in: &entries)
        }
    }

    /// Every change to an entry goes through here, to keep `failing` and `couldBeSick` counting.
    private func store(_ entry: Entry, for name: String, in entries: inout [String: Entry]) {
        let before = entries[name] ?? Entry()
        entries[name] = entry
        Self.count(Self.hasFailures(before), Self.hasFailures(entry), in: failing)
        Self.count(Self.couldBeSick(before), Self.couldBeSick(entry), in: couldBeSick)
    }

    private static func count(_ was: Bool, _ now: Bool, in counter: borrowing Atomic<Int>) {
        if was != now { counter.add(now ? 1 : -1, ordering: .relaxed) }
    }

    private static func couldBeSick(_ entry: Entry) -> Bool {
        entry.override == .sick || entry.probe != nil || entry.sickUntil != nil
    }

    /// A probe result; returns the health before and after, so changes can be logged.
    @discardableResult
    func recordProbe(_ good: Bool, for name: String, now: Double) -> (before: Bool, after: Bool) {
        entries.withLock { entries in
            var entry = entries[name] ?? Entry()
            let before = Self.healthy(entry, now: now)
            entry.probe?.record(good)
            if good {
                entry.sickUntil = nil
                entry.consecutiveFailures = 0
            }
            store(entry, for: name, in: &entries)
            return (before, Self.healthy(entry, now: now))
        }
    }

    /// A connection to the backend could not be opened (passive health).
    func recordConnectFailure(_ name: String, now: Double) {
        entries.withLock { entries in
            var entry = entries[name] ?? Entry()
            entry.consecutiveFailures += 1
            if entry.consecutiveFailures >= failureThreshold { entry.sickUntil = now + sickRetry }
            store(entry, for: name, in: &entries)
        }
    }

    func recordSuccess(_ name: String) {
        guard failing.load(ordering: .relaxed) > 0 else { return }
        entries.withLock { entries in
            guard var entry = entries[name], Self.hasFailures(entry) else { return }
            entry.consecutiveFailures = 0
            entry.sickUntil = nil
            store(entry, for: name, in: &entries)
        }
    }

    private static func hasFailures(_ entry: Entry) -> Bool {
        entry.consecutiveFailures > 0 || entry.sickUntil != nil
    }

    func status(of names: [String], now: Double) -> [BackendStatus] {
        entries.withLock { entries in
            names.map { name in
                let entry = entries[name] ?? Entry()
                let passive = entry.sickUntil.map { entry.probe != nil || now < $0 } ?? false
                return BackendStatus(name: name, healthy: Self.healthy(entry, now: now), override: entry.override,
                                     probeWindow: entry.probe?.display,
                                     consecutiveFailures: entry.consecutiveFailures, passivelySick: passive)
            }
        }
    }
}
