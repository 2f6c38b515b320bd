// AutomaticFields: the fields Shellac writes into a response after vcl_deliver or vcl_synth has
// run — Age, X-Varnish and Via, as Varnish does, and Cache-Status (RFC 9211). VCL sees them as
// resp.http.*, and may unset them (sites often hide Age, X-Varnish and Via) or set a value of its
// own. Via is appended (RFC 9110 §7.6.3): a Via the response came with stays, ours follows it.

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
    /// Via, on responses delivered from a fetch or a stored object (not on synthetic ones).
    public static var via: AutomaticFields { AutomaticFields(rawValue: 1 << 3) }

    /// What Shellac's Via says: the protocol it received the response with, and its name.
    public static let viaValue = "1.1 shellac (Shellac/0.1)"

    /// The automatic field called `name` (any case), or nil; most names are ruled out by their bit.
    static func named(_ name: String, nameBit: UInt64) -> AutomaticFields? {
        guard nameBit & (ageBit | requestIDBit | cacheStatusBit | viaBit) != 0 else { return nil }
        if nameBit == ageBit, name.equalsIgnoringASCIICase("Age") { return .age }
        if nameBit == requestIDBit, name.equalsIgnoringASCIICase("X-Varnish") { return .requestID }
        if nameBit == cacheStatusBit, name.equalsIgnoringASCIICase("Cache-Status") { return .cacheStatus }
        if nameBit == viaBit, name.equalsIgnoringASCIICase("Via") { return .via }
        return nil
    }

    /// The names' `HTTPField.nameBit`s: constants where they are read (as a `static let` each
    /// lookup, one per header vcl_deliver sets, was a swift_once call).
    private static var ageBit: UInt64 { HTTPField.nameBit(known: "Age") }
    private static var requestIDBit: UInt64 { HTTPField.nameBit(known: "X-Varnish") }
    private static var cacheStatusBit: UInt64 { HTTPField.nameBit(known: "Cache-Status") }
    private static var viaBit: UInt64 { HTTPField.nameBit(known: "Via") }
}
