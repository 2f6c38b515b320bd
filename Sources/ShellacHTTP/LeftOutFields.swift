// LeftOutFields: what a backend response's hop-by-hop fields and Content-Length said, for a
// parser that leaves them out of the head's field list (HTTPResponseParser(omitsHopByHop:)).
// A proxy removes them from every response it forwards and writes its own framing; left out as
// they are parsed, they are never added to a list only to be searched for and removed again
// (about 1,400 instructions a forwarded response, measured with callgrind).

struct LeftOutFields {
    var transferEncodings = HeadParser.FieldValues()
    var contentLengths = HeadParser.FieldValues()
    /// The Connection options seen: close, keep-alive.
    var connection: ConnectionOptions = []
    /// Other names Connection lists: those fields go too (RFC 9110 §7.6.1). Nil when there are
    /// none (most responses), so that copying these notes copies no list.
    var namedByConnection: [String]?

    /// Takes `field` when it is one to leave out, noting what it says; false to keep it.
    /// Content-Length is noted always and left out unless `keepingContentLength` (the answer to
    /// a HEAD, whose Content-Length describes the body a GET would get).
    mutating func take(_ field: HTTPField, keepingContentLength: Bool) -> Bool {
        guard field.nameBit & candidateBits != 0 else { return false }
        switch field.name.withUTF8Bytes(Self.kind) {
        case .kept:
            return false
        case .contentLength:
            contentLengths.append(field.value)
            return !keepingContentLength
        case .transferEncoding:
            transferEncodings.append(field.value)
        case .connection:
            noteConnection(field.value)
        case .otherHopByHop:
            break
        }
        return true
    }

    private enum Kind {
        case kept, contentLength, transferEncoding, connection, otherHopByHop
    }

    /// What a field named `name` is, read from its bytes: the names looked for on every response
    /// are compared as words with their letters lower-cased (OR 0x20 changes no other byte a
    /// field name may hold into one of theirs), not byte by byte.
    private static func kind(_ name: UnsafeBufferPointer<UInt8>) -> Kind {
        let bytes = UnsafeRawBufferPointer(name)
        switch bytes.count {
        case 14:
            if lowered(bytes, 0) == 0x2d74_6e65_746e_6f63 && lowered(bytes, 6) == 0x6874_676e_656c_2d74 {
                return .contentLength  // "content-length"
            }
        case 10:
            let start = lowered(bytes, 0), end = lowered(bytes, 2)
            if start == 0x6974_6365_6e6e_6f63 && end == 0x6e6f_6974_6365_6e6e { return .connection }
            if start == 0x696c_612d_7065_656b && end == 0x6576_696c_612d_7065 { return .otherHopByHop }  // keep-alive
        case 17:
            if lowered(bytes, 0) == 0x7265_6673_6e61_7274 && lowered(bytes, 8) == 0x6e69_646f_636e_652d
                && lowered(bytes, 9) == 0x676e_6964_6f63_6e65 {
                return .transferEncoding  // "transfer-encoding"
            }
        default:
            break
        }
        return HopByHop.isAlwaysHopByHop(name) ? .otherHopByHop : .kept
    }

    @inline(__always)
    private static func lowered(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) | 0x2020_2020_2020_2020
    }

    private mutating func noteConnection(_ value: String) {
        // Nearly always the whole value is "keep-alive" or "close".
        switch value.withUTF8Bytes(Self.soleOption) {
        case .some(let option):
            connection.insert(option)
        case nil:
            var options = connection
            var named: [String] = []
            _ = FieldList.firstElement(of: value) { token in
                if Self.token(token, is: "close") {
                    options.insert(.close)
                } else if Self.token(token, is: "keep-alive") {
                    options.insert(.keepAlive)
                } else if !HopByHop.isAlwaysHopByHop(token) {
                    named.append(String(decoding: token, as: UTF8.self))
                }
                return false
            }
            connection = options
            if !named.isEmpty { namedByConnection = (namedByConnection ?? []) + named }
        }
    }

    /// The option a Connection value is when it is "keep-alive" or "close" alone.
    private static func soleOption(_ value: UnsafeBufferPointer<UInt8>) -> ConnectionOptions? {
        let bytes = UnsafeRawBufferPointer(value)
        if bytes.count == 10 && lowered(bytes, 0) == 0x696c_612d_7065_656b && lowered(bytes, 2) == 0x6576_696c_612d_7065 {
            return .keepAlive
        }
        if bytes.count == 5 && token(value, is: "close") { return .close }
        return nil
    }

    private static func token(_ token: UnsafeBufferPointer<UInt8>, is option: StaticString) -> Bool {
        option.withUTF8Buffer { FieldList.equalsIgnoringASCIICase(token, $0) }
    }

    /// The bits of the names this may take: a field with none of them is kept without a look.
    /// Kept here rather than read from a static at each field (each read checked it was made).
    private let candidateBits = HopByHop.alwaysHopByHopBits | KnownName.contentLength
}

/// The options a Connection field gave that decide whether the connection stays open.
public struct ConnectionOptions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let close = ConnectionOptions(rawValue: 1)
    public static let keepAlive = ConnectionOptions(rawValue: 2)
}
