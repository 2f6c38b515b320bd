// BodyCoding: what beresp.do_gzip and beresp.do_gunzip do to a fetched response, decided purely
// from the response as vcl_backend_response left it: whether its body is compressed or
// decompressed on its way into the cache, and the fields that go with the coded body.

import ShellacHTTP

public enum BodyCoding: Sendable, Equatable {
    case gzip
    case gunzip

    /// The coding the VCL asked for, if it applies, with `fields` changed to match. As in Varnish:
    /// do_gunzip wins over do_gzip; only a gzip body is decompressed and only an unencoded one
    /// compressed; a response without a body is left alone; the ETag becomes weak (the bytes
    /// differ, the content does not); a compressed response varies on Accept-Encoding.
    /// Unlike Varnish, which keeps one gzip copy and decompresses it for every client that does not
    /// take gzip, a body is compressed only for a request that accepts gzip (`requestFields`, bereq's):
    /// the variant for other clients (Vary: Accept-Encoding all the same) is stored as it came.
    public static func decide(doGzip: Bool, doGunzip: Bool, hasBody: Bool, fields: inout HTTPFields,
                              requestFields: HTTPFields) -> BodyCoding? {
        guard hasBody, doGzip || doGunzip else { return nil }
        let encoding = fields.combined("Content-Encoding")?.trimmingOWS().asciiLowercased()
        if doGunzip {
            guard encoding == "gzip" else { return nil }
            fields.remove("Content-Encoding")
            weakenETag(&fields)
            return .gunzip
        }
        guard encoding == nil || encoding == "identity" else { return nil }
        // Compressed or not, the response now depends on Accept-Encoding: the plain variant too,
        // or it would answer the clients that take gzip.
        if let names = Vary.names(fields), !names.contains("accept-encoding") {
            if let vary = fields.combined("Vary"), !vary.trimmingOWS().isEmpty {
                fields.set("Vary", vary + ", Accept-Encoding")
            } else {
                fields.set("Vary", "Accept-Encoding")
            }
        }
        guard let accepted = requestFields.combined("Accept-Encoding"), AcceptEncoding.acceptsGzip(accepted) else {
            return nil
        }
        fields.set("Content-Encoding", "gzip")
        weakenETag(&fields)
        return .gzip
    }

    /// RFC 9110 §8.8.3: a strong validator names exact bytes, which coding changes.
    private static func weakenETag(_ fields: inout HTTPFields) {
        guard let etag = fields["ETag"], !etag.hasPrefix("W/") else { return }
        fields.set("ETag", "W/" + etag)
    }
}
