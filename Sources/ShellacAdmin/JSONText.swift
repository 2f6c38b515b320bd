// JSONText: the small JSON writer for `-j` answers (keys sorted, so output is stable).

public enum JSONText {
    public indirect enum Value: Sendable {
        case string(String), number(Double), bool(Bool), null
        case array([Value]), object([String: Value])
    }

    public static func array(_ values: [String]) -> String { "[" + values.joined(separator: ", ") + "]" }

    public static func object(_ fields: [String: Value]) -> String { render(.object(fields)) }

    public static func render(_ value: Value) -> String {
        switch value {
        case .string(let s): return quote(s)
        case .number(let n): return n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let values): return "[" + values.map(render).joined(separator: ", ") + "]"
        case .object(let fields):
            return "{" + fields.keys.sorted().map { quote($0) + ": " + render(fields[$0]!) }.joined(separator: ", ") + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
