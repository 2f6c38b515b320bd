// Synthetic: responses made by Shellac itself (errors and rejections): reason phrases and the
// small HTML page of Varnish's builtin vcl_synth, with the request id to quote in bug reports.

public enum Synthetic {
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 417: return "Expectation Failed"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Unknown"
        }
    }

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
