// RemovedFields: the stored fields vcl_deliver unsets on a hit (`unset resp.http.Server`, the
// commonest edit there is). The stored head is then written without their lines, rather than
// read back into a field list and written anew on every hit.

import ShellacHTTP

public struct RemovedFields: Sendable, Equatable {
    /// The names as VCL spelled them, each once.
    public private(set) var names: [String] = []
    /// The union of the names' `HTTPField.nameBit`s: most stored lines are passed on these.
    private var nameBits: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { names.isEmpty }

    mutating func insert(_ name: String, nameBit: UInt64) {
        guard !contains(name, nameBit: nameBit) else { return }
        names.append(name)
        nameBits |= nameBit
    }

    func contains(_ name: String, nameBit: UInt64) -> Bool {
        nameBits & nameBit != 0 && names.contains { $0.equalsIgnoringASCIICase(name) }
    }

    /// Whether a stored field line's name (its bytes) is one of these.
    public func contains(nameBytes: UnsafeRawBufferPointer) -> Bool {
        guard nameBits & HTTPField.nameBit(nameBytes) != 0 else { return false }
        return names.contains { name in
            var name = name
            return name.withUTF8 { spelled in
                spelled.count == nameBytes.count
                    && !zip(spelled, nameBytes).contains { $0 | 0x20 != $1 | 0x20 }
            }
        }
    }

    /// `fields` without these.
    func removing(from fields: HTTPFields) -> HTTPFields {
        guard !isEmpty else { return fields }
        var kept = fields
        kept.removeAll { contains($0.name, nameBit: $0.nameBit) }
        return kept
    }
}
