// Varnish's ban expression syntax: parsing, its errors, and matching against stored objects.

import NIOCore
import ShellacHTTP
import ShellacStore
import Testing
@testable import ShellacCore

@Suite struct BanExpressionTests {
    let object = StoredObject(key: CacheKey(parts: ["/news/1", "h"]), status: 200, reason: "OK",
                              fields: HTTPFields([("X-Cache-Tags", "post-1 home"), ("Content-Type", "text/html")]),
                              body: [ByteBuffer(string: "x")], varyNames: [], varyValues: [], storedAt: 0,
                              initialAge: 0, ttl: 60, grace: 0, keep: 0)

    func matches(_ text: String, url: String? = "/news/1", fields: HTTPFields? = HTTPFields([("Host", "h")]))
        throws -> Bool {
        try BanExpression.parse(text).matches(object, url: url, requestFields: fields)
    }

    @Test func conditionsOnTheRequestAndTheObject() throws {
        #expect(try matches("req.url ~ ^/news/"))
        #expect(try !matches("req.url ~ ^/blog/"))
        #expect(try matches("req.url == /news/1"))
        #expect(try matches("req.url != /other"))
        #expect(try matches("req.http.host == h && req.url ~ \"^/news\""))
        #expect(try !matches("req.http.host == other && req.url ~ ^/news"))
        #expect(try matches("obj.http.X-Cache-Tags ~ (^|[[:space:],])home($|[[:space:],])"))
        #expect(try !matches("obj.http.x-cache-tags ~ (^|[[:space:],])post-10($|[[:space:],])"))
        #expect(try matches("obj.status == 200"))
        #expect(try matches("obj.http.Missing !~ anything"))
        #expect(try !matches("req.url ~ .", url: nil), "a ban on the request cannot match without one")
    }

    @Test(arguments: [
        ("", "expected a field"),
        ("resp.status == 200", "unknown ban field 'resp.status'"),
        ("req.url", "expected ==, !=, ~ or !~"),
        ("req.url ~", "expected a value"),
        ("req.url ~ \"unterminated", "unterminated string"),
        ("req.url ~ (", "invalid regular expression"),
        ("obj.status == ok", "obj.status is compared with a number"),
        ("req.url ~ a || req.url ~ b", "expected && between conditions"),
    ])
    func badExpressionsSayWhatIsWrong(text: String, message: String) {
        do {
            _ = try BanExpression.parse(text)
            Issue.record("'\(text)' should not parse")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
