// NativeBuiltin: what the shipped builtin VCL's vcl_recv does (config/builtin.vcl), in Swift.
// Every request runs the builtin's part of vcl_recv unless the user's part returned first; done
// natively it costs a few comparisons instead of a walk through the interpreter. Tests hold it
// to the interpreted builtin, request by request.

import ShellacHTTP
import ShellacVCL

enum NativeBuiltin {
    /// The builtin vcl_recv's decision for `request`, as the interpreter would return it.
    static func recv(_ request: HTTPRequestHead) -> VCLOutcome {
        let method = request.method
        if method == "PRI" { return .action("synth", [.int(405)]) }
        // !req.http.host && req.esi_level == 0 && req.proto ~ "^(?i)HTTP/1.1"
        if request.version == .http1_1 && !request.fields.contains("Host", nameBit: hostBit) {
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
        if request.fields.contains("Authorization", nameBit: authorizationBit)
            || request.fields.contains("Cookie", nameBit: cookieBit) {
            return .action("pass", [])
        }
        return .action("hash", [])
    }

    private static let hostBit = HTTPField.nameBit("Host")
    private static let authorizationBit = HTTPField.nameBit("Authorization")
    private static let cookieBit = HTTPField.nameBit("Cookie")
}
