// AutomaticFields: the fields Shellac writes into a response after vcl_deliver or vcl_synth has
// run — Age and X-Varnish, as Varnish does, and Cache-Status (RFC 9211). VCL sees them as
// resp.http.*, and may unset them (sites often hide Age and X-Varnish) or set a value of its own.

import ShellacHTTP

public struct AutomaticFields: OptionSet, Sendable, Equatable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let age = AutomaticFields(rawValue: 1 << 0)
    /// X-Varnish: the request id.
    public static let requestID = AutomaticFields(rawValue: 1 << 1)
    public static let cacheStatus = AutomaticFields(rawValue: 1 << 2)

    /// The automatic field called `name` (any case), or nil; most names are ruled out by their bit.
    static func named(_ name: String, nameBit: UInt64) -> AutomaticFields? {
        guard nameBit & anyBit != 0 else { return nil }
        if nameBit == ageBit, name.equalsIgnoringASCIICase("Age") { return .age }
        if nameBit == requestIDBit, name.equalsIgnoringASCIICase("X-Varnish") { return .requestID }
        if nameBit == cacheStatusBit, name.equalsIgnoringASCIICase("Cache-Status") { return .cacheStatus }
        return nil
    }

    private static let ageBit = HTTPField.nameBit("Age")
    private static let requestIDBit = HTTPField.nameBit("X-Varnish")
    private static let cacheStatusBit = HTTPField.nameBit("Cache-Status")
    private static let anyBit = ageBit | requestIDBit | cacheStatusBit
}
