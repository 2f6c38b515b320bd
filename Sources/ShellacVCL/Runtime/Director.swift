// Director: a `directors.*` object made in vcl_init: round_robin, random (weighted), fallback
// (first healthy) and hash (by a key). Members are backends or other directors by name; picking
// skips sick backends and resolves nested directors, so the result is always a concrete backend.

import Crypto
import Synchronization

public final class Director: Sendable {
    public enum Kind: String, Sendable {
        case roundRobin = "round_robin", random, fallback, hash
    }

    struct Member: Sendable {
        var name: String
        var weight: Double
    }

    public let name: String
    public let kind: Kind
    private let members = Mutex<[Member]>([])
    private let next = Atomic<Int>(0)

    init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    func add(_ backend: String, weight: Double) {
        members.withLock { $0.append(Member(name: backend, weight: max(0, weight))) }
    }

    func remove(_ backend: String) {
        members.withLock { $0.removeAll { $0.name == backend } }
    }

    public var memberNames: [String] { members.withLock { $0.map(\.name) } }

    /// A concrete, healthy backend, or nil when none is healthy.
    /// - Parameters:
    ///   - key: the hash director's key (ignored by the others).
    ///   - context: says which backends are healthy.
    ///   - directors: every director of the program, to resolve nested ones.
    func pick<C: VCLContext>(key: String?, health context: C, directors: [String: Director],
                             depth: Int = 0) -> String? {
        guard depth < 8 else { return nil }
        let members = self.members.withLock { $0 }
        func resolve(_ member: Member) -> String? {
            if let nested = directors[member.name] {
                return nested.pick(key: key, health: context, directors: directors, depth: depth + 1)
            }
            return context.isHealthy(member.name) ? member.name : nil
        }
        switch kind {
        case .fallback:
            for member in members {
                if let backend = resolve(member) { return backend }
            }
            return nil
        case .roundRobin:
            guard !members.isEmpty else { return nil }
            let start = next.wrappingAdd(1, ordering: .relaxed).oldValue
            for offset in 0..<members.count {
                let member = members[Int(UInt(bitPattern: start &+ offset) % UInt(members.count))]
                if let backend = resolve(member) { return backend }
            }
            return nil
        case .random, .hash:
            // Weighted choice among the members that resolve to a healthy backend: by a random
            // number, or by the key's hash (the same key picks the same backend while health
            // holds, and the backend Varnish's hash director picks for it).
            let candidates = members.compactMap { member in resolve(member).map { ($0, member.weight) } }
            let total = candidates.reduce(0) { $0 + $1.1 }
            guard total > 0 else { return candidates.first?.0 }
            let point: Double
            if kind == .hash {
                point = Self.hashPoint(key ?? "") * total
            } else {
                point = Double.random(in: 0..<total)
            }
            var sum = 0.0
            for (backend, weight) in candidates {
                sum += weight
                if point < sum { return backend }
            }
            return candidates.last?.0
        }
    }

    /// Whether any member, or a member of a nested director, is a healthy backend: whether `pick`
    /// would find one.
    func hasHealthyMember<C: VCLContext>(health context: C, directors: [String: Director], depth: Int = 0) -> Bool {
        guard depth < 8 else { return false }
        return members.withLock { $0 }.contains { member in
            if let nested = directors[member.name] {
                return nested.hasHealthyMember(health: context, directors: directors, depth: depth + 1)
            }
            return context.isHealthy(member.name)
        }
    }

    /// Where in [0, 1) a key falls, as Varnish places it (VRT_HashStrands32): the last four
    /// bytes of the key's SHA-256, read little-endian, over 2^32.
    static func hashPoint(_ key: String) -> Double {
        let digest = Array(SHA256.hash(data: Array(key.utf8)))
        let last = digest[(digest.count - 4)...].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Double(last) / 4_294_967_296
    }
}
