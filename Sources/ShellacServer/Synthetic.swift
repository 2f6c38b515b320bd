// Synthetic: the page Shellac answers with when it rejects a request before any VCL runs (a
// malformed request): the same small HTML page as the builtin vcl_synth, with the request id.

import ShellacHTTP

public enum Synthetic {
    public static func page(status: Int, reason: String, requestID: String) -> String {
        let reason = escape(reason)
        return """
        <!DOCTYPE html>
        <html>
          <head>
            <title>\(status) \(reason)</title>
          </head>
          <body>
            <h1>Error \(status) \(reason)</h1>
            <p>\(reason)</p>
            <h3>Request ID: \(requestID)</h3>
            <hr>
            <p>Shellac cache server</p>
          </body>
        </html>

        """
    }

    private static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
