// VCLValue: a value while a VCL subroutine runs, with Varnish's conversions: how each type prints
// when it becomes a STRING (concatenation, header values), what counts as true in a condition,
// and how values compare.

import Foundation
import ShellacHTTP

public enum VCLValue: Sendable, Equatable {
    /// A STRING; nil is the "not set" string (a missing header), false in conditions, "" when printed.
    case string(String?)
    case int(Int)
    case real(Double)
    /// Seconds.
    case duration(Double)
    /// Seconds since the epoch.
    case time(Double)
    case bool(Bool)
    /// An address as text ("127.0.0.1", "::1") and its port (std.port reads it).
    case ip(String, port: Int = 0)
    /// A backend by name; nil is "no backend".
    case backend(String?)
    case bytes(Int)

    /// The value printed as Varnish prints it: INT in decimal, REAL and DURATION with three
    /// decimals, TIME as an HTTP date, BOOL as true/false, BACKEND as its name.
    public var string: String {
        switch self {
        case .string(let s): return s ?? ""
        case .int(let n): return String(n)
        case .real(let x), .duration(let x): return Self.threeDecimals(x)
        case .time(let t): return Self.httpDate(t)
        case .bool(let b): return b ? "true" : "false"
        case .ip(let address, _): return address
        case .backend(let name): return name ?? ""
        case .bytes(let n): return String(n)
        }
    }

    /// `string`, taking the value: a STRING's text moves out rather than being copied (a copy of a
    /// String and the release of the value it came from cost about 45 instructions).
    public consuming func takeString() -> String {
        switch consume self {
        case .string(let s): return s ?? ""
        case let other: return other.string
        }
    }

    /// The value as a header or string that may be unset (only a STRING can be).
    public var optionalString: String? {
        if case .string(let s) = self { return s }
        return string
    }

    /// VCL truthiness: a set string, a non-zero number, a positive duration, a chosen backend.
    public var isTrue: Bool {
        switch self {
        case .string(let s): return s != nil
        case .int(let n): return n != 0
        case .real(let x): return x != 0
        case .duration(let x): return x > 0
        case .time(let t): return t != 0
        case .bool(let b): return b
        case .ip: return true
        case .backend(let name): return name != nil
        case .bytes(let n): return n != 0
        }
    }

    /// The number behind a numeric value (INT, REAL, DURATION, TIME, BYTES), else nil.
    public var number: Double? {
        switch self {
        case .int(let n): return Double(n)
        case .real(let x), .duration(let x), .time(let x): return x
        case .bytes(let n): return Double(n)
        default: return nil
        }
    }

    static func threeDecimals(_ x: Double) -> String {
        String(format: "%.3f", x)
    }

    /// As Varnish prints a TIME: its whole seconds (a time before 1970 rounded toward it).
    static func httpDate(_ t: Double) -> String {
        HTTPDate.format(t.rounded(.towardZero))
    }
}
