// BanExpression: Varnish's ban syntax (`req.url ~ "^/news" && obj.http.X-Tags ~ "sports"`):
// conditions on req.url, req.http.*, obj.status and obj.http.* joined by &&, with ==, !=, ~
// and !~. Parsed and its regexes compiled when the ban is made; tested against objects lazily.

import ShellacHTTP
import ShellacStore
import ShellacVCL

public struct BanExpression: BanTest, Sendable {
    public struct ParseError: Error, Sendable {
        public let message: String
    }

    enum Field: Sendable, Equatable {
        case requestURL
        case requestHeader(String)
        case objectStatus
        case objectHeader(String)
    }

    enum Comparison: String, Sendable {
        case equal = "==", notEqual = "!=", match = "~", noMatch = "!~"
    }

    struct Condition: Sendable {
        var field: Field
        var comparison: Comparison
        var value: String
        var regex: VCLRegex?
    }

    public let text: String
    let conditions: [Condition]

    /// Whether every condition is about the object alone (such a ban can be applied at once).
    public var needsNoRequest: Bool {
        conditions.allSatisfy { condition in
            switch condition.field {
            case .objectStatus, .objectHeader: return true
            case .requestURL, .requestHeader: return false
            }
        }
    }

    public static func parse(_ text: String) throws(ParseError) -> BanExpression {
        var conditions: [Condition] = []
        var rest = Substring(text)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            let fieldText = rest.prefix { $0 != " " && $0 != "\t" && $0 != "=" && $0 != "!" && $0 != "~" }
            rest = rest.dropFirst(fieldText.count).drop { $0 == " " || $0 == "\t" }
            guard let field = Self.field(String(fieldText)) else {
                throw ParseError(message: fieldText.isEmpty ? "expected a field such as req.url or obj.http.NAME"
                                 : "unknown ban field '\(fieldText)': use req.url, req.http.NAME, obj.status or obj.http.NAME")
            }
            let opText = rest.prefix { $0 == "=" || $0 == "!" || $0 == "~" }
            guard let comparison = Comparison(rawValue: String(opText)) else {
                throw ParseError(message: "expected ==, !=, ~ or !~ after '\(fieldText)'")
            }
            rest = rest.dropFirst(opText.count).drop { $0 == " " || $0 == "\t" }
            let value: String
            if let quote = rest.first, quote == "\"" || quote == "'" {
                guard let close = rest.dropFirst().firstIndex(of: quote) else {
                    throw ParseError(message: "unterminated string in ban expression")
                }
                value = String(rest[rest.index(after: rest.startIndex)..<close])
                rest = rest[rest.index(after: close)...]
            } else {
                let word = rest.prefix { $0 != " " && $0 != "\t" }
                guard !word.isEmpty else { throw ParseError(message: "expected a value after '\(opText)'") }
                value = String(word)
                rest = rest.dropFirst(word.count)
            }
            var regex: VCLRegex?
            if comparison == .match || comparison == .noMatch {
                do {
                    regex = try VCLRegex(value)
                } catch {
                    throw ParseError(message: "invalid regular expression '\(value)': \(error.message)")
                }
            }
            if field == .objectStatus, Int(value) == nil {
                throw ParseError(message: "obj.status is compared with a number, not '\(value)'")
            }
            conditions.append(Condition(field: field, comparison: comparison, value: value, regex: regex))
            rest = rest.drop { $0 == " " || $0 == "\t" }
            if rest.isEmpty { break }
            guard rest.hasPrefix("&&") else {
                throw ParseError(message: "expected && between conditions, found '\(rest.prefix(10))'")
            }
            rest = rest.dropFirst(2)
        }
        return BanExpression(text: text, conditions: conditions)
    }

    static func field(_ text: String) -> Field? {
        let lower = text.lowercased()
        if lower == "req.url" { return .requestURL }
        if lower == "obj.status" { return .objectStatus }
        if lower.hasPrefix("req.http."), text.count > 9 { return .requestHeader(String(text.dropFirst(9))) }
        if lower.hasPrefix("obj.http."), text.count > 9 { return .objectHeader(String(text.dropFirst(9))) }
        return nil
    }

    /// Whether the ban removes `object`; conditions on the request need one (a lookup).
    public func matches(_ object: StoredObject, url: String?, requestFields: HTTPFields?) -> Bool {
        var objectFields: HTTPFields?
        for condition in conditions {
            let subject: String?
            switch condition.field {
            case .requestURL:
                guard let url else { return false }
                subject = url
            case .requestHeader(let name):
                guard let requestFields else { return false }
                subject = requestFields[name]
            case .objectStatus:
                subject = String(object.status)
            case .objectHeader(let name):
                if objectFields == nil { objectFields = object.fields }
                subject = objectFields?[name]
            }
            let holds: Bool
            switch condition.comparison {
            case .equal: holds = subject == condition.value
            case .notEqual: holds = subject != condition.value
            case .match: holds = subject.map { condition.regex!.matches($0) } ?? false
            case .noMatch: holds = !(subject.map { condition.regex!.matches($0) } ?? false)
            }
            if !holds { return false }
        }
        return true
    }
}
