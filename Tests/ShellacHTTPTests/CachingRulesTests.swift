// Dates, Cache-Control, freshness lifetime and age (RFC 9111 §4.2), Vary and hop-by-hop rules.

import ShellacTestSupport
import Testing
@testable import ShellacHTTP

@Suite struct HTTPDateTests {
    @Test func formatsAndParsesAllThreeForms() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == 784_111_777)
        #expect(HTTPDate.parse("0") == nil)
        #expect(HTTPDate.parse("Sun, 32 Nov 1994 08:49:37 GMT") == nil)
        #expect(HTTPDate.format(1_800_000_000) == "Fri, 15 Jan 2027 08:00:00 GMT")
    }

    @Test func fixdatesReadFromBytesAgreeWithTheGeneralForms() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let time = Double(Int64.random(in: -2_208_988_800...253_402_300_799, using: &generator))  // 1900...9999
            #expect(HTTPDate.parse(HTTPDate.format(time)) == time)
            #expect(HTTPDate.parse(Substring(HTTPDate.format(time))) == time)
        }
        #expect(HTTPDate.parse("Xyz, 06 Nov 1994 08:49:37 GMT") == 784_111_777)  // the weekday is not checked
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 24:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 UTC") == nil)
        #expect(HTTPDate.parse("Sun, 6 Nov 1994 08:49:37 GMT") == 784_111_777)  // not 29 bytes: the general parse
        #expect(HTTPDate.parse("Sun, 06 Nox 1994 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 0: Nov 199: 08:49:37 GMT") == nil)
        // The byte just below "0" or a letter in place of any digit: no date. (The byte just above
        // "9", a colon, the general parse reads as a separator within the time.)
        let digitPositions = [5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24]
        for position in digitPositions {
            for byte in [UInt8(ascii: "/"), UInt8(ascii: "a"), UInt8(ascii: "Z")] {
                var text = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)
                text[position] = byte
                #expect(HTTPDate.parse(String(decoding: text, as: UTF8.self)) == nil, "\(byte) at \(position)")
            }
        }
    }
}

@Suite struct FreshnessTests {
    let now = 1_800_000_000.0

    func ttl(_ pairs: [(String, String)], requestTime: Double? = nil) -> Double? {
        let fields = HTTPFields(pairs)
        return Freshness.compute(fields: fields, cacheControl: CacheControl(fields),
                                 requestTime: requestTime ?? now, responseTime: now).ttl
    }

    @Test func sMaxAgeWinsOverMaxAgeWinsOverExpires() {
        let date = HTTPDate.format(now)
        let expires = HTTPDate.format(now + 30)
        #expect(ttl([("Cache-Control", "max-age=10, s-maxage=20"), ("Expires", expires)]) == 20)
        #expect(ttl([("Cache-Control", "max-age=10"), ("Expires", expires)]) == 10)
        #expect(ttl([("Date", date), ("Expires", expires)]) == 30)
        #expect(ttl([("Expires", expires)]) == 30, "no Date: relative to the response time")
    }

    @Test func noFreshnessInformationMeansNoTTL() {
        #expect(ttl([("Content-Type", "text/plain")]) == nil)
        #expect(ttl([("Cache-Control", "public")]) == nil)
    }

    @Test func invalidExpiresIsAlreadyExpired() {
        #expect(ttl([("Expires", "0")]) == 0)
    }

    @Test func ageIsSubtracted() {
        #expect(ttl([("Cache-Control", "max-age=100"), ("Age", "30")]) == 70)
        #expect(ttl([("Cache-Control", "max-age=100"), ("Date", HTTPDate.format(now - 40))]) == 60)
        #expect(ttl([("Cache-Control", "max-age=100"), ("Age", "300")]) == -200)
    }

    /// Date has whole seconds: a response generated and received within one second is not
    /// older than its Age says, however late in that second it arrives.
    @Test func dateCountsInWholeSeconds() {
        let fields = HTTPFields([("Cache-Control", "max-age=1"), ("Date", HTTPDate.format(now))])
        for late in [0.0, 0.4, 0.999] {
            let f = Freshness.compute(fields: fields, cacheControl: CacheControl(fields), requestTime: now + late,
                                      responseTime: now + late)
            #expect(f.ttl == 1 && f.initialAge == 0, "\(late)")
        }
        let old = HTTPFields([("Cache-Control", "max-age=10"), ("Date", HTTPDate.format(now - 3))])
        let f = Freshness.compute(fields: old, cacheControl: CacheControl(old), requestTime: now + 0.7,
                                  responseTime: now + 0.7)
        #expect(f.ttl == 7, "a Date three seconds behind is three seconds of age")
    }

    @Test func oddDateValues() {
        // A Date in the future (a fast origin clock) gives no negative age.
        #expect(ttl([("Cache-Control", "max-age=100"), ("Date", HTTPDate.format(now + 300))]) == 100)
        // Expires relative to the origin's Date, not to our clock (§4.2.1).
        #expect(ttl([("Date", HTTPDate.format(now + 300)), ("Expires", HTTPDate.format(now + 360))]) == 60)
        // Expires before Date: already stale.
        #expect(ttl([("Date", HTTPDate.format(now)), ("Expires", HTTPDate.format(now - 60))]) == -60)
        // An unparsable Date is ignored: Expires counts from the response time.
        #expect(ttl([("Date", "yesterday"), ("Expires", HTTPDate.format(now + 30))]) == 30)
        // max-age wins over Expires even when Expires is invalid.
        #expect(ttl([("Cache-Control", "max-age=5"), ("Expires", "-1")]) == 5)
    }

    @Test func initialAgeIncludesResponseDelay() {
        let fields = HTTPFields([("Cache-Control", "max-age=100"), ("Age", "10")])
        let f = Freshness.compute(fields: fields, cacheControl: CacheControl(fields), requestTime: now - 2,
                                  responseTime: now)
        #expect(f.initialAge == 12)
    }

    @Test func cacheControlDirectives() {
        let cc = CacheControl(HTTPFields([("Cache-Control", "Private, no-cache=\"set-cookie, x\", MAX-AGE=5"),
                                          ("cache-control", "stale-while-revalidate=30, s-maxage=bad")]))
        #expect(cc.isPrivate)
        #expect(cc.noCache)
        #expect(cc.maxAge == 5)
        #expect(cc.sMaxAge == nil)
        #expect(cc.staleWhileRevalidate == 30)
        #expect(!cc.noStore)
    }
}

@Suite struct VaryAndHopByHopTests {
    @Test func varyNamesAndNormalisedValues() {
        #expect(Vary.names(HTTPFields([("Vary", "Accept-Encoding, X-Lang"), ("Vary", "cookie")]))
            == ["accept-encoding", "x-lang", "cookie"])
        #expect(Vary.names(HTTPFields([("Vary", "X, *")])) == nil)
        let a = Vary.values(for: ["accept-encoding", "x-none"], in: HTTPFields([("Accept-Encoding", "gzip,  br")]))
        let b = Vary.values(for: ["accept-encoding", "x-none"], in: HTTPFields([("accept-encoding", "gzip"),
                                                                                ("accept-encoding", "br")]))
        #expect(a == b)
        #expect(a == ["gzip,br", nil])
    }

    /// The normalised values agree with their definition (split at commas dropping empty
    /// items, each item trimmed, all joined with ",") over random lists of one to three fields.
    @Test func normalisedValuesAgreeWithTheirDefinition() {
        var random = SeededGenerator(state: 9110)
        let pieces = ["a", "bc", " ", "\t", ",", ", ", " ,", "é"]
        for _ in 0..<3_000 {
            let values = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                (0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            }
            let defined = values.flatMap { $0.split(separator: ",").map { String($0.trimmingOWS()) } }.joined(separator: ",")
            let fields = HTTPFields(values.map { ("X-V", $0) })
            #expect(Vary.values(for: ["x-v"], in: fields) == [defined], "\(values)")
        }
    }

    @Test func hopByHopFieldsAreStripped() {
        var fields = HTTPFields([("Connection", "close, X-Private"), ("X-Private", "1"), ("Keep-Alive", "5"),
                                 ("Proxy-Authorization", "x"), ("TE", "trailers"), ("Upgrade", "h2c"),
                                 ("Transfer-Encoding", "chunked"), ("X-Kept", "yes")])
        HopByHop.strip(&fields)
        #expect(fields.fields.map(\.name) == ["X-Kept"])
    }

    @Test func fieldsNamedAcrossSeveralConnectionLinesAreStripped() {
        var fields = HTTPFields([("Connection", "keep-alive"), ("x-a", "1"), ("Connection", " X-A ,,\tx-b"),
                                 ("X-B", "2"), ("X-AB", "3"), ("X-", "4")])
        HopByHop.strip(&fields)
        #expect(fields.fields.map(\.name) == ["X-AB", "X-"])
    }

    @Test func listElementsAreTrimmedAndMatchedInAnyCase() {
        func elements(_ value: String) -> [String] {
            var seen: [String] = []
            _ = FieldList.firstElement(of: value) { seen.append(String(decoding: $0, as: UTF8.self)); return false }
            return seen
        }
        #expect(elements("keep-alive") == ["keep-alive"])
        #expect(elements(" a ,b,\t, ,c\t") == ["a", "b", "c"])
        #expect(elements("") == [] && elements(" , ,") == [])
        #expect(elements("a b, c") == ["a b", "c"])
        #expect(FieldList.contains("Keep-Alive, Upgrade", token: "upgrade"))
        #expect(FieldList.contains("upgrade", token: "Upgrade"))
        #expect(!FieldList.contains("upgraded, x-upgrade", token: "upgrade"))
        #expect(!FieldList.contains("", token: "close"))
        // At and around a token as long as the whole value.
        #expect(FieldList.contains("close", token: "close") && FieldList.contains("CLOSE", token: "close"))
        #expect(!FieldList.contains("clos", token: "close") && !FieldList.contains("keep-alive", token: "close"))
        #expect(FieldList.contains(" close ", token: "close") && FieldList.contains("a,close", token: "close"))
        #expect(FieldList.firstElement(of: "a, b, c") { $0.count == 1 && $0[0] == UInt8(ascii: "b") })
    }

    @Test func oneMoreFieldGoesInTheSamePass() {
        var plain = HTTPFields([("Content-Type", "text/plain"), ("content-length", "5"), ("Content-Length", "5")])
        HopByHop.strip(&plain, alsoRemoving: ("Content-Length", KnownName.contentLength))
        #expect(plain.fields.map(\.name) == ["Content-Type"] && !plain.contains("Content-Length"))
        var both = HTTPFields([("Connection", "X-A"), ("X-A", "1"), ("Content-Length", "5"), ("Age", "3")])
        HopByHop.strip(&both, alsoRemoving: ("Content-Length", KnownName.contentLength))
        #expect(both.fields.map(\.name) == ["Age"])
        var neither = HTTPFields([("Age", "3")])
        HopByHop.strip(&neither, alsoRemoving: ("Content-Length", KnownName.contentLength))
        #expect(neither.fields.map(\.name) == ["Age"])
    }

    @Test func hopByHopNamesAreRecognisedInAnyCaseAndOnlyThemselves() {
        let always = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"]
        let names = always + always.map { $0.uppercased() } + ["Proxy-", "proxy-connection", "PROXY-X", "Trailers",
            "t", "", "Connections", "keep-alivf", "Transfer-Encodinh", "Upgrades", "proxy", "Content-Type", "TE ",
            "keep\ralive", "proxy\rx", "Proxy\u{0D}"]
        for name in names {
            let expected = always.contains { name.equalsIgnoringASCIICase($0) } || name.hasPrefixIgnoringASCIICase("proxy-")
            #expect(HopByHop.isAlwaysHopByHop(name) == expected, "\(name)")
        }
        // strip passes over fields on their name bits first: it must still remove exactly these.
        var fields = HTTPFields(names.map { ($0, "v") } + [("Pragma", "no-cache"), ("X-Kept", "1")])
        HopByHop.strip(&fields)
        let kept = names.filter { !HopByHop.isAlwaysHopByHop($0) } + ["Pragma", "X-Kept"]
        #expect(fields.fields.map(\.name) == kept)
    }

    @Test func everyNameHasOneHashBitAndNamesStartingWithPTheirsToo() {
        for name in ["Host", "Pragma", "proxy-x", "P", "p", "Via", "x", "Content-Length", "PROXY-AUTHORIZATION"] {
            let bit = HTTPField.nameBit(name)
            let startsWithP = name.utf8.first.map { $0 | 0x20 == UInt8(ascii: "p") } ?? false
            #expect((bit & HTTPField.startsWithP != 0) == startsWithP, "\(name)")
            #expect((bit & ~HTTPField.startsWithP).nonzeroBitCount == 1, "\(name)")
            #expect(bit == HTTPField.nameBit(name.uppercased()) && bit == HTTPField.nameBit(name.lowercased()))
        }
    }
}

@Suite struct RevalidationTests {
    @Test func conditionsFromValidators() {
        #expect(Revalidation.conditions(etag: "\"a\"", lastModified: nil).map(\.0) == ["If-None-Match"])
        #expect(Revalidation.conditions(etag: "\"a\"", lastModified: "x").map(\.0) == ["If-None-Match", "If-Modified-Since"])
        #expect(Revalidation.conditions(etag: nil, lastModified: nil).isEmpty)
    }

    @Test func a304ReplacesTheFieldsItCarriesButNotTheBodysOwn() {
        let stored = HTTPFields([("Content-Type", "text/html"), ("Cache-Control", "max-age=10"), ("ETag", "\"a\""),
                                 ("X-Multi", "1"), ("X-Multi", "2"), ("Date", "old")])
        let notModified = HTTPFields([("Cache-Control", "max-age=60"), ("Date", "new"), ("X-Multi", "3"),
                                      ("Content-Type", "text/plain"), ("Content-Length", "0")])
        let merged = Revalidation.merge(stored: stored, notModified: notModified)
        #expect(merged["Cache-Control"] == "max-age=60")
        #expect(merged["Date"] == "new")
        #expect(merged.values("X-Multi") == ["3"])
        #expect(merged["Content-Type"] == "text/html", "the stored body's type stays")
        #expect(merged["Content-Length"] == nil)
        #expect(merged["ETag"] == "\"a\"")
    }
}

@Suite struct RangeRequestTests {
    @Test(arguments: [
        ("bytes=0-99", RangeRequest.Answer.partial(0...99)),
        ("bytes=100-", .partial(100...299)),
        ("bytes=-50", .partial(250...299)),
        ("bytes=-500", .partial(0...299)),
        ("bytes=250-999", .partial(250...299)),
        ("bytes = 1-2", .full),  // no whitespace around "=" in the grammar (RFC 9110 §14.1.1)
        ("bytes=300-", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=5-2", .full),
        ("bytes=0-1,5-6", .full),
        ("items=0-1", .full),
        ("bytes=x-1", .full),
        ("bytes=", .full),
        ("BYTES=0-1", .partial(0...1)), (" bytes=0-1\t", .partial(0...1)), ("bytes= 5 - 9", .partial(5...9)),
        ("bytes=0-1234567890123456789", .full), ("bytes=-", .full), ("bytes==0-1", .full), ("bytes:0-1", .full),
    ])
    func singleRanges(header: String, answer: RangeRequest.Answer) {
        #expect(RangeRequest.parse(header, length: 300) == answer)
    }

    @Test func ifRangeMustMatch() {
        let lm = "Sun, 06 Nov 1994 08:49:37 GMT"
        func answer(_ ifRange: String) -> RangeRequest.Answer {
            RangeRequest.evaluate(request: HTTPFields([("Range", "bytes=0-9"), ("If-Range", ifRange)]), length: 100,
                                  etag: "\"a\"", lastModified: lm)
        }
        #expect(answer("\"a\"") == .partial(0...9))
        #expect(answer("\"b\"") == .full)
        #expect(answer("W/\"a\"") == .full, "weak tags never match If-Range")
        #expect(answer(lm) == .partial(0...9))
        #expect(answer("Mon, 07 Nov 1994 08:49:37 GMT") == .full)
    }
}
