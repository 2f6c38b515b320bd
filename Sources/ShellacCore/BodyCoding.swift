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
    /// A body is compressed only for a request that asked for gzip (`requestTakesGzip`, bereq's
    /// Accept-Encoding: every fetch for the cache under http_gzip_support); without it, the plain
    /// variant is stored as it came (Vary: Accept-Encoding all the same).
    public static func decide(doGzip: Bool, doGunzip: Bool, hasBody: Bool, fields: inout HTTPFields,
                              requestTakesGzip: @autoclosure () -> Bool) -> BodyCoding? {
        guard hasBody, doGzip || doGunzip else { return nil }
        if doGunzip {
            guard GzipCoder.isGzip(fields) else { return nil }
            fields.remove("Content-Encoding")
            weakenETag(&fields)
            return .gunzip
        }
        if let encoding = fields.combined("Content-Encoding", nameBit: KnownName.contentEncoding),
           !encoding.trimmingOWS().equalsIgnoringASCIICase("identity") {
            return nil
        }
        // Compressed or not, the response now depends on Accept-Encoding: the plain variant too,
        // or it would answer the clients that take gzip.
        if let names = Vary.names(fields), !names.contains("accept-encoding") {
            if let vary = fields.combined("Vary"), !vary.trimmingOWS().isEmpty {
                fields.set("Vary", vary + ", Accept-Encoding")
            } else {
                fields.set("Vary", "Accept-Encoding")
            }
        }
        guard requestTakesGzip() else { return nil }
        fields.set("Content-Encoding", "gzip")
        weakenETag(&fields)
        return .gzip
    }

    /// The fields of a gzip response delivered decompressed (http_gzip_support, to a client that
    /// does not take gzip): no Content-Encoding, a weak ETag.
    public static func gunzipped(_ fields: HTTPFields) -> HTTPFields {
        var fields = fields
        fields.remove("Content-Encoding", nameBit: KnownName.contentEncoding)
        weakenETag(&fields)
        return fields
    }

    /// RFC 9110 §8.8.3: a strong validator names exact bytes, which coding changes.
    private static func weakenETag(_ fields: inout HTTPFields) {
        guard let etag = fields["ETag"], !etag.hasPrefix("W/") else { return }
        fields.set("ETag", "W/" + etag)
    }
}
