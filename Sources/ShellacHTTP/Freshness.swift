// Freshness: how long a stored response stays fresh for a shared cache (RFC 9111 §4.2),
// computed once when the response arrives. Pure: the caller passes request and response times.

public struct Freshness: Sendable, Equatable {
    /// Seconds the response is fresh for from the moment it was received; nil = no explicit
    /// freshness information (not reusable unless a default TTL is configured).
    public var ttl: Double?
    /// The response's age when it was received (RFC 9111 §4.2.3 corrected_initial_age).
    public var initialAge: Double

    public init(ttl: Double?, initialAge: Double) {
        self.ttl = ttl
        self.initialAge = initialAge
    }

    /// - Parameters:
    ///   - requestTime: when the request was sent to the backend.
    ///   - responseTime: when the response head arrived.
    public static func compute(fields: HTTPFields, cacheControl: CacheControl, requestTime: Double,
                               responseTime: Double) -> Freshness {
        let dateValue = fields["Date", nameBit: KnownName.date].flatMap { ParsedValueMemo.current.date($0) }
        let ageValue = fields["Age", nameBit: KnownName.age].flatMap { Double($0.trimmingOWS()) }.map { max(0, $0) } ?? 0
        // §4.2.3. Date has whole seconds: compared with the response time's whole second, so a
        // response sent late in a second is not taken to be up to a second old (which left a
        // max-age=1 page, a one-second cache of a dynamic site, almost no time fresh).
        let responseSecond = responseTime.rounded(.down)
        let apparentAge = max(0, responseSecond - (dateValue ?? responseSecond))
        let responseDelay = max(0, responseTime - requestTime)
        let correctedAgeValue = ageValue + responseDelay
        let initialAge = max(apparentAge, correctedAgeValue)

        // §4.2.1: s-maxage, then max-age, then Expires − Date.
        let lifetime: Double?
        if let s = cacheControl.sMaxAge {
            lifetime = Double(s)
        } else if let m = cacheControl.maxAge {
            lifetime = Double(m)
        } else if let expiresText = fields["Expires", nameBit: KnownName.expires] {
            // An invalid Expires (e.g. "0") means already expired (§5.3).
            if let expires = HTTPDate.parse(expiresText) {
                lifetime = expires - (dateValue ?? responseTime)
            } else {
                lifetime = 0
            }
        } else {
            lifetime = nil
        }
        // Age is counted from the response's origin; the corrected part beyond Age is transit delay,
        // which Varnish ignores and so do we, so a fresh-from-origin response keeps its whole max-age.
        let age = max(apparentAge, ageValue)
        return Freshness(ttl: lifetime.map { $0 - age }, initialAge: initialAge)
    }
}

/// Statuses a shared cache stores by default (Varnish's list; RFC 9110 §15.1 plus common redirects).
public enum CacheableStatus {
    public static func isCacheable(_ status: Int) -> Bool {
        switch status {
        case 200, 203, 204, 300, 301, 302, 304, 307, 308, 404, 410, 414: return true
        default: return false
        }
    }

    /// Statuses that may be given a heuristic (configured default) lifetime without explicit
    /// freshness (RFC 9110 §15.1, RFC 9111 §4.2.2); others need `public` for that.
    public static func isHeuristicallyCacheable(_ status: Int) -> Bool {
        switch status {
        case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501: return true
        default: return false
        }
    }
}
