// FieldLines: a set of a stored head's field lines, by place (bit n: the n-th field line, 0 being
// the first after the status line). vcl_deliver's unsets of stored fields (`unset
// resp.http.Server`, the commonest edit there is) are kept as one: the stored head is then
// written and read without those lines, rather than read back into a field list and written anew
// on every hit; and being one word, it costs a hit that removes nothing no reference counting.

public struct FieldLines: Sendable, Equatable {
    public private(set) var lines: UInt64

    public init(lines: UInt64 = 0) {
        self.lines = lines
    }

    public var isEmpty: Bool { lines == 0 }

    public mutating func formUnion(_ other: FieldLines) {
        lines |= other.lines
    }

    public func isSubset(of other: FieldLines) -> Bool {
        lines & ~other.lines == 0
    }

    /// Whether the n-th field line is in the set (-1, the status line, never is).
    @inline(__always)
    public func contains(line: Int) -> Bool {
        line >= 0 && line < 64 && lines & 1 << UInt64(line) != 0
    }
}
