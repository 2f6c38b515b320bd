// AddedFields: the fields vcl_deliver adds to a stored head that has none of them, kept as the
// text they are written as ("Name: value\r\n" each). The common edit on a hit (one short field,
// such as X-Cache: HIT) is then one small string: nothing to allocate, and one copy into the
// response head. Reading, replacing or removing an added field reads the lines back (rare).

import ShellacHTTP

public struct AddedFields: Sendable, Equatable {
    /// The field lines, in the order the fields were added.
    public private(set) var lines = ""
    /// The union of the added names' `HTTPField.nameBit`s: most lookups end here.
    private var nameBits: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { lines.isEmpty }

    /// Sets `name` to `value`, replacing an added field of that name. Returns false, changing
    /// nothing, when the name or value holds a CR or LF: such a line could not be read back
    /// (the caller keeps the field in a list instead). `prepared` is the field's line when the
    /// caller has it already (a VCL constant), checked when it was made.
    @discardableResult
    mutating func set(_ name: String, nameBit: UInt64, _ value: String, line prepared: String? = nil) -> Bool {
        let line = prepared ?? HTTPField.line(name: name, value: value)
        guard let line else { return false }
        if nameBits & nameBit != 0 { remove(name, nameBit: nameBit) }
        if lines.isEmpty { lines = line } else { lines += line }
        nameBits |= nameBit
        return true
    }

    /// Removes the added field `name`; returns whether there was one.
    @discardableResult
    mutating func remove(_ name: String, nameBit: UInt64) -> Bool {
        guard nameBits & nameBit != 0 else { return false }
        var kept = AddedFields()
        var removed = false
        forEach { fieldName, value in
            if fieldName.equalsIgnoringASCIICase(name) {
                removed = true
            } else {
                kept.set(fieldName, nameBit: HTTPField.nameBit(fieldName), value)
            }
        }
        self = kept
        return removed
    }

    /// The value of the added field `name`, or nil.
    func value(of name: String, nameBit: UInt64) -> String? {
        guard nameBits & nameBit != 0 else { return nil }
        var found: String?
        forEach { fieldName, value in
            if found == nil, fieldName.equalsIgnoringASCIICase(name) { found = value }
        }
        return found
    }

    /// `fields` followed by these.
    func appended(to fields: HTTPFields) -> HTTPFields {
        var all = fields
        forEach { name, value in all.add(name, value) }
        return all
    }

    /// Every added field, in order.
    public func forEach(_ body: (_ name: String, _ value: String) -> Void) {
        let bytes = Array(lines.utf8)
        var start = 0
        var index = 0
        while index + 1 < bytes.count {
            guard bytes[index] == UInt8(ascii: "\r"), bytes[index + 1] == UInt8(ascii: "\n") else {
                index += 1
                continue
            }
            let line = bytes[start..<index]
            if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                // The value starts after the ": " that set() writes.
                body(String(decoding: line[..<colon], as: UTF8.self),
                     String(decoding: line[min(colon + 2, index)...], as: UTF8.self))
            }
            index += 2
            start = index
        }
    }
}
