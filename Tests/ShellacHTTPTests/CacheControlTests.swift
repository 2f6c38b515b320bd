// Cache-Control parsing: the byte-level parser checked against a plain statement of the rules
// (split at commas outside quotes, trim, name=value, quotes stripped) on seeded random values.

import ShellacTestSupport
import Testing
@testable import ShellacHTTP

@Suite struct CacheControlTests {
    /// The rules as plainly as they can be written, over Strings.
    static func reference(_ values: [String]) -> CacheControl {
        var cc = CacheControl()
        for value in values {
            var items: [String] = []
            var current = ""
            var inQuotes = false
            for character in value {
                if character == "\"" { inQuotes.toggle() }
                if character == ",", !inQuotes {
                    items.append(current)
                    current = ""
                } else {
                    current.append(character)
                }
            }
            items.append(current)
            for item in items {
                let trimmed = String(item.trimmingOWS())
                guard !trimmed.isEmpty else { continue }
                var name = trimmed
                var argument: String?
                if let equals = trimmed.firstIndex(of: "=") {
                    name = String(trimmed[..<equals].trimmingOWS())
                    var v = String(trimmed[trimmed.index(after: equals)...].trimmingOWS())
                    if v.utf8.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
                    argument = v
                }
                func seconds() -> Int? {
                    guard let argument, !argument.isEmpty, argument.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                        return nil
                    }
                    return Int(argument) ?? Int(Int32.max)
                }
                switch name.lowercased() {
                case "max-age": cc.maxAge = seconds() ?? cc.maxAge
                case "s-maxage": cc.sMaxAge = seconds() ?? cc.sMaxAge
                case "no-store": cc.noStore = true
                case "no-cache": cc.noCache = true
                case "private": cc.isPrivate = true
                case "public": cc.isPublic = true
                case "must-revalidate": cc.mustRevalidate = true
                case "proxy-revalidate": cc.proxyRevalidate = true
                case "stale-while-revalidate": cc.staleWhileRevalidate = seconds() ?? cc.staleWhileRevalidate
                case "stale-if-error": cc.staleIfError = seconds() ?? cc.staleIfError
                default: break
                }
            }
        }
        return cc
    }

    @Test func agreesWithThePlainRulesOnRandomValues() {
        var random = SeededGenerator(state: 9111)
        let pieces = ["max-age", "MAX-AGE", "s-maxage", "no-store", "No-Cache", "private", "public",
                      "must-revalidate", "proxy-revalidate", "stale-while-revalidate", "stale-if-error", "x-ext",
                      "=", "=", "60", "0", "99999999999999999999999", "\"", "\"30\"", ",", ",", " ", "\t", "a b", "-1"]
        for _ in 0..<5_000 {
            let values = (0..<Int(1 + random.next() % 2)).map { _ in
                (0..<Int(random.next() % 8)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            }
            let fields = HTTPFields(values.map { ("Cache-Control", $0) } + [("X", "y")])
            #expect(CacheControl(fields) == Self.reference(values), "\(values)")
        }
    }

    @Test func readsTheUsualForms() {
        let cc = CacheControl(HTTPFields([("cache-control", "public, max-age=60, stale-while-revalidate=\"30\""),
                                          ("Cache-Control", "s-maxage = 10 ,no-cache=\"Set-Cookie, X\"")]))
        #expect(cc.isPublic && cc.maxAge == 60 && cc.staleWhileRevalidate == 30 && cc.sMaxAge == 10 && cc.noCache)
        #expect(CacheControl(HTTPFields([("Cache-Control", "max-age=99999999999999999999")])).maxAge == Int(Int32.max))
        #expect(CacheControl(HTTPFields()) == CacheControl())
    }

    /// A value the same as the last one parsed on this thread gives the remembered result; any
    /// other value, or several fields, is parsed.
    @Test func aRepeatedValueGivesWhatItGaveBefore() {
        func parsed(_ values: String...) -> CacheControl {
            CacheControl(HTTPFields(values.map { ("Cache-Control", $0) }))
        }
        for _ in 0..<2 {
            #expect(parsed("max-age=5").maxAge == 5)
            #expect(parsed("max-age=5").maxAge == 5)
            #expect(parsed("max-age=6").maxAge == 6)
            #expect(parsed("max-age=6", "no-store") == CacheControl(parsing: ["max-age=6", "no-store"]))
            #expect(parsed("max-age=6", "no-store").noStore)
            #expect(parsed("no-store").maxAge == nil)
            #expect(parsed("no-store").noStore)
        }
        let date = "Sat, 28 Nov 2026 03:17:27 GMT"
        for (text, expected) in [(date, HTTPDate.parse(date)), ("not a date", nil), (date, HTTPDate.parse(date))] {
            let freshness = Freshness.compute(fields: HTTPFields([("Date", text), ("Cache-Control", "max-age=10")]),
                                              cacheControl: parsed("max-age=10"), requestTime: expected ?? 0,
                                              responseTime: (expected ?? 0) + 4)
            #expect(freshness.ttl == (expected == nil ? 10 : 6), "\(text)")
        }
    }
}

