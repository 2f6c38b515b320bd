// BackendRequest: the request we send to a backend, derived from the client's: hop-by-hop fields
// removed, X-Forwarded-For extended, and for cache fetches made method- and validator-neutral so
// the stored object is the full representation.

import ShellacHTTP

public enum BackendRequest {
    /// The request, with X-Forwarded-For and X-Varnish left out (`forwardingLeftOut`) when the
    /// client sent neither: then they are two fields added at the end, which the request is
    /// written with (see BackendVCLContext). Added here, they copied the field list the client's
    /// request shares, for every fetch.
    /// - Parameters:
    ///   - forCache: true for a fetch whose response may be stored (GET, no client validators or Range).
    ///   - clientAddress: the peer address appended to X-Forwarded-For.
    ///   - forwardedForExtended: X-Forwarded-For had the address added when the request arrived
    ///     (the VCL reads or writes it): it goes as the VCL left it.
    ///   - gzipSupport: http_gzip_support: a fetch for the cache asks for gzip (Accept-Encoding:
    ///     gzip) whatever the client takes, as Varnish's does. Where the client sent no
    ///     Accept-Encoding it is left out with the forwarding fields (`gzipLeftOut`), for the same reason.
    public static func prepare(from client: HTTPRequestHead, clientAddress: String, forCache: Bool,
                               requestID: String, forwardedForExtended: Bool = false, gzipSupport: Bool = false)
        -> (head: HTTPRequestHead, forwardingLeftOut: Bool, gzipLeftOut: Bool) {
        var fields = client.fields
        HopByHop.strip(&fields, alsoRemoving: ("Content-Length", KnownName.contentLength))
        let forwardingLeftOut = !forwardedForExtended
            && !fields.contains("X-Forwarded-For", nameBit: KnownName.xForwardedFor)
            && !fields.contains("X-Varnish", nameBit: KnownName.xVarnish)
        if !forwardingLeftOut {
            addForwarding(to: &fields, clientAddress: forwardedForExtended ? nil : clientAddress, requestID: requestID)
        }
        var method = client.method
        var framing = client.framing
        var gzipLeftOut = false
        if forCache && gzipSupport {
            let acceptEncoding = fields.combined("Accept-Encoding", nameBit: KnownName.acceptEncoding)
            if acceptEncoding == nil && forwardingLeftOut {
                gzipLeftOut = true
            } else if acceptEncoding != "gzip" {
                fields.set("Accept-Encoding", "gzip", nameBit: KnownName.acceptEncoding)
            }
        }
        if forCache {
            // A HEAD miss fetches GET so the full object can be stored; client validators and
            // ranges are answered by us from the stored object.
            if method == "HEAD" { method = "GET" }
            if fields.nameBits & conditionalBits != 0 {
                for (name, bit) in conditionalFields { fields.remove(name, nameBit: bit) }
            }
            framing = .none
        }
        switch framing {
        case .contentLength(let n): fields.add("Content-Length", String(n))
        case .chunked: fields.add("Transfer-Encoding", "chunked")
        case .none, .untilClose: break
        }
        return (HTTPRequestHead(method: method, target: client.target, version: .http1_1, fields: fields,
                                framing: framing), forwardingLeftOut, gzipLeftOut)
    }

    /// X-Forwarded-For extended with the client's address (unless nil: it was when the request
    /// arrived), X-Varnish set.
    public static func addForwarding(to fields: inout HTTPFields, clientAddress: String?, requestID: String) {
        if let clientAddress { extendForwardedFor(&fields, clientAddress: clientAddress) }
        fields.set("X-Varnish", requestID, nameBit: KnownName.xVarnish)
    }

    /// X-Forwarded-For (its fields joined into one, as Varnish does) extended with the client's
    /// address, or begun with it.
    public static func extendForwardedFor(_ fields: inout HTTPFields, clientAddress: String) {
        if let previous = fields.combined("X-Forwarded-For", nameBit: KnownName.xForwardedFor) {
            fields.set("X-Forwarded-For", "\(previous), \(clientAddress)", nameBit: KnownName.xForwardedFor)
        } else {
            fields.add(HTTPField(name: "X-Forwarded-For", value: clientAddress, nameBit: KnownName.xForwardedFor))
        }
    }

    /// Validators and ranges, which the cache answers itself, with their name bits.
    private static let conditionalFields = ["If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since",
                                            "If-Range", "Range"].map { ($0, HTTPField.nameBit($0)) }
    /// Their bits together: a request with none of them (most) is passed over without reading the
    /// list (each name read was a retain and a release). A constant where it is read (a `static
    /// let` was a swift_once call on every fetch).
    private static var conditionalBits: UInt64 {
        KnownName.ifNoneMatch | KnownName.ifModifiedSince | HTTPField.nameBit(known: "If-Match")
            | HTTPField.nameBit(known: "If-Unmodified-Since") | HTTPField.nameBit(known: "If-Range") | KnownName.range
    }
}
