// CLIProtocol: the wire format of Varnish's CLI, which shellacd's admin channel speaks so that
// varnishadm can drive it: every response is a 13-byte header "SSS LLLLLLLL\n" (status and body
// length, left-aligned), the body, and a newline; commands are lines of words with "…" quoting;
// authentication answers a challenge with SHA-256 over challenge, secret and challenge.

import Crypto

/// Response statuses, as Varnish numbers them.
public enum CLIStatus: Int, Sendable {
    case syntax = 100, unknown = 101, unimplemented = 102, tooFew = 104, tooMany = 105, parameter = 106
    case authenticate = 107, ok = 200, truncated = 201, cannot = 300, communication = 400, close = 500
}

public struct CLIResponse: Sendable, Equatable {
    public var status: Int
    public var body: String

    public init(_ status: CLIStatus, _ body: String) {
        self.status = status.rawValue
        self.body = body
    }

    public init(status: Int, body: String) {
        self.status = status
        self.body = body
    }

    public var isOK: Bool { status == CLIStatus.ok.rawValue }

    /// "200 5       \nhello\n"
    public var encoded: String {
        let length = body.utf8.count
        let statusText = String(status)
        let lengthText = String(length)
        return statusText + String(repeating: " ", count: max(0, 3 - statusText.count)) + " " + lengthText
            + String(repeating: " ", count: max(0, 8 - lengthText.count)) + "\n" + body + "\n"
    }

    /// Reads one response from the front of `bytes`; nil until it is complete. Consumes it.
    public static func decode(_ bytes: inout [UInt8]) throws(CLIProtocolError) -> CLIResponse? {
        guard bytes.count >= 13 else { return nil }
        let header = String(decoding: bytes[0..<13], as: UTF8.self)
        guard bytes[12] == UInt8(ascii: "\n") else { throw CLIProtocolError("bad response header '\(header)'") }
        let fields = header.dropLast().split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 2, let status = Int(fields[0]), let length = Int(fields[1]), length >= 0 else {
            throw CLIProtocolError("bad response header '\(header)'")
        }
        guard bytes.count >= 13 + length + 1 else { return nil }
        let body = String(decoding: bytes[13..<(13 + length)], as: UTF8.self)
        bytes.removeFirst(13 + length + 1)
        return CLIResponse(status: status, body: body)
    }
}

public struct CLIProtocolError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum CLIAuthentication {
    /// 32 random lower-case letters, as Varnish sends.
    public static func challenge() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in Character(Unicode.Scalar(UInt8.random(in: 97...122, using: &generator))) })
    }

    /// The answer to `challenge` for the secret file's bytes: hex SHA-256 of
    /// challenge, "\n", the secret, challenge, "\n".
    public static func answer(challenge: String, secret: [UInt8]) -> String {
        var input = Array(challenge.utf8)
        input.append(10)
        input += secret
        input += Array(challenge.utf8)
        input.append(10)
        return SHA256.hash(data: input).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Compares two answers in time independent of where they differ.
    public static func matches(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

public enum CLICommandLine {
    /// Splits a command line into words: spaces separate, "…" groups with \" \\ \n escapes.
    public static func words(_ line: String) throws(CLIProtocolError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quoted = false
        var iterator = line.makeIterator()
        while let character = iterator.next() {
            if quoted {
                switch character {
                case "\"":
                    quoted = false
                case "\\":
                    guard let escaped = iterator.next() else { throw CLIProtocolError("a backslash ends the line") }
                    switch escaped {
                    case "n": current.append("\n")
                    case "t": current.append("\t")
                    default: current.append(escaped)
                    }
                default:
                    current.append(character)
                }
            } else if character == " " || character == "\t" {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            } else if character == "\"" {
                quoted = true
                inWord = true
            } else {
                current.append(character)
                inWord = true
            }
        }
        if quoted { throw CLIProtocolError("a quoted argument is not closed") }
        if inWord { words.append(current) }
        return words
    }

    /// A word as it must be written on a command line (quoted when it needs to be).
    public static func quote(_ word: String) -> String {
        guard word.isEmpty || word.contains(where: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "\\" || $0 == "\n" })
        else { return word }
        var out = "\""
        for character in word {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}
