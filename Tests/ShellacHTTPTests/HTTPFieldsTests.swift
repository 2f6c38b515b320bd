// Header lists: case-insensitive lookup, and the name bits that answer "absent" quickly staying
// exact through every kind of change (checked against a plain list with a seeded generator).

import Testing
@testable import ShellacHTTP

@Suite struct HTTPFieldsTests {
    /// A small deterministic generator (SplitMix64), so a failure can be replayed.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private let names = ["Host", "host", "HOST", "Cookie", "Accept", "Accept-Encoding", "X-A", "x-b", "Vary",
                         "Cache-Control", "ETag", "If-None-Match", "A", "Authorization", "Range"]

    @Test func lookupsAgreeWithAPlainListThroughRandomChanges() {
        var random = Seeded(state: 2026)
        var fields = HTTPFields()
        var model: [(String, String)] = []
        func same(_ a: String, _ b: String) -> Bool { a.lowercased() == b.lowercased() }
        for step in 0..<3_000 {
            let name = names.randomElement(using: &random)!
            let value = "v\(step)"
            switch random.next() % 5 {
            case 0, 1:
                fields.add(name, value)
                model.append((name, value))
            case 2:
                fields.set(name, value)
                if let index = model.firstIndex(where: { same($0.0, name) }) {
                    model[index].1 = value
                    model = model.enumerated().filter { $0.offset <= index || !same($0.element.0, name) }.map(\.element)
                } else {
                    model.append((name, value))
                }
            case 3:
                fields.remove(name)
                model.removeAll { same($0.0, name) }
            default:
                let dropped = names.randomElement(using: &random)!
                fields.removeAll { $0.name == dropped }
                model.removeAll { $0.0 == dropped }
            }
            for probe in names {
                let expected = model.filter { same($0.0, probe) }.map(\.1)
                #expect(fields[probe] == expected.first)
                #expect(fields.values(probe) == expected)
                #expect(fields.contains(probe) == !expected.isEmpty)
                #expect(fields.count(of: probe) == expected.count)
            }
            #expect(fields == HTTPFields(model))
        }
    }

    @Test func anEmptyNameIsFoundToo() {
        let fields = HTTPFields([("", "x")])
        #expect(fields[""] == "x")
        #expect(!fields.contains("A"))
    }
}
