// NativeBuiltin: what the shipped builtin VCL's vcl_recv and vcl_backend_response do
// (config/builtin.vcl), in Swift. Every request runs the builtin's part of vcl_recv, and every
// fetch that of vcl_backend_response, unless the user's part returned first; done natively they
// cost a few comparisons instead of a walk through the interpreter. Tests hold them to the
// interpreted builtin, case by case.

import ShellacHTTP
import ShellacVCL

enum NativeBuiltin {
    /// The builtin vcl_recv's decision for a request, as the interpreter would return it, from
    /// the parts it reads: the context passes these (a whole head passed out of the context was
    /// copied first, every string and list in it retained and released).
    static func recv(method: String, version: HTTPVersion, fields: HTTPFields) -> VCLOutcome {
        if method == "PRI" { return .action("synth", [.int(405)]) }
        // !req.http.host && req.esi_level == 0 && req.proto ~ "^(?i)HTTP/1.1"
        if version == .http1_1 && !fields.contains("Host", nameBit: KnownName.host) {
            return .action("synth", [.int(400)])
        }
        switch method {
        case "GET", "HEAD":
            break
        case "PUT", "POST", "TRACE", "OPTIONS", "DELETE", "PATCH":
            return .action("pass", [])
        default:
            return .action("pipe", [])
        }
        if fields.contains("Authorization", nameBit: KnownName.authorization)
            || fields.contains("Cookie", nameBit: KnownName.cookie) {
            return .action("pass", [])
        }
        return .action("hash", [])
    }

    /// The builtin vcl_backend_response: a response that cannot be shared (no lifetime, a
    /// cookie, no-store or private, Vary: *) becomes a hit-for-miss marker for two minutes.
    static func backendResponse(_ context: inout BackendVCLContext) -> VCLOutcome {
        // if (bereq.uncacheable) { return (deliver); }
        // The response's parts are read where the context keeps them (taking the whole response
        // out of the context copied every string and list in it).
        guard !context.uncacheable, context.response != nil else { return .action("deliver", []) }
        let fields = context.response!.fields
        let surrogateControl = fields["Surrogate-Control", nameBit: surrogateControlBit]
        let unshareable = (context.response!.ttl <= 0 && context.response!.keep <= 0)
            || fields.contains("Set-Cookie", nameBit: setCookieBit)
            || (surrogateControl.map { noStore.matches($0) } ?? false)
            || (surrogateControl == nil
                && noStoreOrPrivate.matches(fields["Cache-Control", nameBit: KnownName.cacheControl] ?? ""))
            || fields["Vary", nameBit: KnownName.vary] == "*"
        if unshareable {
            context.response?.ttl = 120
            context.response?.uncacheable = true
        }
        return .action("deliver", [])
    }

    private static var surrogateControlBit: UInt64 { HTTPField.nameBit(known: "Surrogate-Control") }
    private static var setCookieBit: UInt64 { HTTPField.nameBit(known: "Set-Cookie") }

    // The builtin's own patterns, compiled as the VCL compiles them.
    private static let noStore = try! VCLRegex("(?i)no-store")
    private static let noStoreOrPrivate = try! VCLRegex("(?i:no-store|private)")
}
