// Fields vcl_deliver adds to a stored head, kept as their lines: setting, replacing, removing,
// reading back, and refusing a line break; and the edits a hit's vcl_deliver produces with them,
// including stored fields it unsets and the automatic fields (Age, X-Varnish, Cache-Status) it
// reads, unsets or replaces.

import NIOCore
import ShellacHTTP
import ShellacStore
import ShellacVCL
import Testing
@testable import ShellacCore

@Suite struct AddedFieldsTests {
    func set(_ fields: inout AddedFields, _ name: String, _ value: String) -> Bool {
        fields.set(name, nameBit: HTTPField.nameBit(name), value)
    }

    func all(_ fields: AddedFields) -> [String] {
        var seen: [String] = []
        fields.forEach { name, value in seen.append("\(name)=\(value)") }
        return seen
    }

    @Test func linesAreWrittenInOrderAndReadBack() {
        var fields = AddedFields()
        #expect(fields.isEmpty)
        let accepted = [set(&fields, "X-Cache", "HIT"), set(&fields, "X-Note", "a: b, c"), set(&fields, "X-Empty", "")]
        #expect(accepted == [true, true, true])
        #expect(fields.lines == "X-Cache: HIT\r\nX-Note: a: b, c\r\nX-Empty: \r\n")
        #expect(all(fields) == ["X-Cache=HIT", "X-Note=a: b, c", "X-Empty="])
        #expect(fields.value(of: "x-note", nameBit: HTTPField.nameBit("x-note")) == "a: b, c")
        #expect(fields.value(of: "X-Other", nameBit: HTTPField.nameBit("X-Other")) == nil)
    }

    @Test func settingANameAgainReplacesItAndRemovingTakesItOut() {
        var fields = AddedFields()
        _ = set(&fields, "X-A", "1")
        _ = set(&fields, "X-B", "2")
        _ = set(&fields, "x-a", "3")
        #expect(all(fields) == ["X-B=2", "x-a=3"])
        let removed = [fields.remove("X-B", nameBit: HTTPField.nameBit("X-B")),
                       fields.remove("X-B", nameBit: HTTPField.nameBit("X-B"))]
        #expect(removed == [true, false])
        #expect(fields.lines == "x-a: 3\r\n")
    }

    @Test func aLineBreakIsRefusedAndChangesNothing() {
        var fields = AddedFields()
        _ = set(&fields, "X-A", "1")
        let accepted = [set(&fields, "X-A", "two\r\nX-Injected: yes"), set(&fields, "X-B", "bare\nfeed")]
        #expect(accepted == [false, false])
        #expect(fields.lines == "X-A: 1\r\n")
    }

    /// A hit's vcl_deliver: new fields become additions to the stored head; a change to a stored
    /// field makes a head of its own. (A value with a line break fails vcl_deliver before it gets
    /// here: InterpreterTests.valuesThatWouldSplitAMessageFail.)
    @Test func aHitsDeliverEditsAreAdditionsUntilTheyCannotBe() throws {
        func edits(_ deliver: String, storedReason: String = "OK") throws -> ResponseEdits? {
            let store = CacheStore(budget: 1 << 20)
            var first = flow(request("GET", "/a", [("Host", "h")]), program: try program("sub vcl_deliver { \(deliver) }"))
            guard case .lookup(let key) = first.start(now: now),
                  case .fetch(let fetch, _) = first.lookupFinished(store.lookup(key, requestFields: first.request.fields,
                                                                               now: now), now: now) else {
                Issue.record("expected a fetch")
                return nil
            }
            let object = StoredObject(key: key, status: 200, reason: storedReason, fields: HTTPFields([("Via", "1.1 o")]),
                                      body: [ByteBuffer(string: "hi")], varyNames: [], varyValues: [], storedAt: now,
                                      initialAge: 0, ttl: 60, grace: 0, keep: 0)
            store.insert(object, completing: fetch.busy, now: now)
            var second = flow(request("GET", "/a", [("Host", "h")]), program: try program("sub vcl_deliver { \(deliver) }"))
            guard case .lookup(let key2) = second.start(now: now),
                  case .deliverHit(_, _, _, _, _, let edits) = second.lookupFinished(
                    store.lookup(key2, requestFields: second.request.fields, now: now), now: now) else {
                Issue.record("expected a hit")
                return nil
            }
            return edits
        }
        guard case .added(let added, removing: FieldLines(), omitting: [])? = try edits("""
            set resp.http.X-A = "1"; set resp.http.X-B = "2"; set resp.http.X-A = "3";
            set resp.http.X-Copy = resp.http.X-B; unset resp.http.X-B;
            """) else { Issue.record("expected additions"); return }
        #expect(added.lines == "X-A: 3\r\nX-Copy: 2\r\n")
        guard case .replaced(_, _, let changed, _)? = try edits("set resp.http.X-A = \"1\"; set resp.http.Via = \"2\";")
        else { Issue.record("expected a head of its own"); return }
        #expect(changed.values("Via") == ["2"])
        #expect(changed["X-A"] == "1")
        // A new status line replaces the head too; reading it back sees the change.
        guard case .replaced(203, "Fine", let kept, _)? = try edits(
            "set resp.status = 203; set resp.reason = \"Fine\"; set resp.http.X-Line = resp.status + \" \" + resp.reason;"
        ) else { Issue.record("expected a head of its own"); return }
        #expect(kept["X-Line"] == "203 Fine")
        #expect(kept["Via"] == "1.1 o")
        #expect(try edits("if (resp.status == 200 && resp.reason == \"OK\") { return (deliver); }") == nil)
        // The stored reason phrase, standard or not, is what resp.reason reads.
        guard case .added(let phrase, _, _)? = try edits("set resp.http.X-Reason = resp.reason;", storedReason: "Fine Indeed")
        else { Issue.record("expected additions"); return }
        #expect(phrase.lines == "X-Reason: Fine Indeed\r\n")

        // Age, X-Varnish and Cache-Status are written after vcl_deliver: it reads them as Shellac
        // will write them, and what it unsets or sets itself is left out.
        guard case .added(let copies, _, omitting: let omitted)? = try edits("""
            set resp.http.X-Age = resp.http.Age; set resp.http.X-Id = resp.http.x-varnish;
            set resp.http.X-Status = resp.http.Cache-Status;
            unset resp.http.Age; unset resp.http.X-Varnish; set resp.http.Cache-Status = "mine";
            if (resp.http.Age || resp.http.X-Varnish) { set resp.http.X-Wrong = "still there"; }
            """) else { Issue.record("expected additions"); return }
        #expect(copies.lines == "X-Age: 0\r\nX-Id: 7\r\nX-Status: Shellac; hit; ttl=60\r\nCache-Status: mine\r\n")
        #expect(omitted == [.age, .requestID, .cacheStatus])
        #expect(try edits("set resp.http.X-A = resp.http.Age;")?.omitted == [])

        // Unsetting a stored field (unset resp.http.Server, the usual one) notes it as removed:
        // the stored head is kept, less that line. Reading it then finds nothing; setting it
        // again adds the new value; changing another stored field still makes a head of its own.
        guard case .added(let none, let removed, _)? = try edits("""
            unset resp.http.via; if (resp.http.Via) { set resp.http.X-Wrong = "still there"; }
            """) else { Issue.record("expected a removal"); return }
        #expect(none.isEmpty && removed == FieldLines(lines: 1))
        guard case .added(let again, let removedAgain, _)? = try edits("unset resp.http.Via; set resp.http.Via = \"2\";")
        else { Issue.record("expected a removal and an addition"); return }
        #expect(again.lines == "Via: 2\r\n" && removedAgain == FieldLines(lines: 1))
        guard case .replaced(_, _, let rebuilt, _)? = try edits("unset resp.http.Via; set resp.status = 203;")
        else { Issue.record("expected a head of its own"); return }
        #expect(rebuilt["Via"] == nil)
    }
}
