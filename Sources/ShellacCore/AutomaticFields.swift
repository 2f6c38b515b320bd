// AutomaticFields: the fields Shellac writes into a response after vcl_deliver or vcl_synth has
// run — Age and X-Varnish, as Varnish does, and Cache-Status (RFC 9211). VCL sees them as
// resp.http.*, and may unset them (sites often hide Age and X-Varnish) or set a value of its own.

import ShellacHTTP

public struct AutomaticFields: OptionSet, Sendable, Equatable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    // Computed, not stored: a stored static is initialised lazily and checked on every use.
    public static var age: AutomaticFields { AutomaticFields(rawValue: 1 << 0) }
    /// X-Varnish: the request id.
    public static var requestID: AutomaticFields { AutomaticFields(rawValue: 1 << 1) }
    public static var cacheStatus: AutomaticFields { AutomaticFields(rawValue: 1 << 2) }

    /// The automatic field called `name` (any case), or nil; most names are ruled out by their bit.
    static func named(_ name: String, nameBit: UInt64) -> AutomaticFields? {
        let bits = nameBits
        guard nameBit & bits.any != 0 else { return nil }
        if nameBit == bits.age, name.equalsIgnoringASCIICase("Age") { return .age }
        if nameBit == bits.requestID, name.equalsIgnoringASCIICase("X-Varnish") { return .requestID }
        if nameBit == bits.cacheStatus, name.equalsIgnoringASCIICase("Cache-Status") { return .cacheStatus }
        return nil
    }

    /// The names' `HTTPField.nameBit`s, together so a lookup makes one lazy-initialisation check.
    private static let nameBits: (age: UInt64, requestID: UInt64, cacheStatus: UInt64, any: UInt64) = {
        let age = HTTPField.nameBit("Age"), requestID = HTTPField.nameBit("X-Varnish")
        let cacheStatus = HTTPField.nameBit("Cache-Status")
        return (age, requestID, cacheStatus, age | requestID | cacheStatus)
    }()
}
