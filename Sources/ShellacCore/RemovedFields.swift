// RemovedFields: the stored fields vcl_deliver unsets on a hit (`unset resp.http.Server`, the
// commonest edit there is), as the places of their lines in the stored head. The stored head is
// then written without those lines, rather than read back into a field list and written anew on
// every hit; and being one word, it costs a hit that removes nothing no reference counting.

public struct RemovedFields: Sendable, Equatable {
    /// Bit n: the stored head's n-th field line (0 is the first after the status line).
    public private(set) var lines: UInt64

    public init(lines: UInt64 = 0) {
        self.lines = lines
    }

    public var isEmpty: Bool { lines == 0 }

    mutating func insert(lines more: UInt64) {
        lines |= more
    }

    /// Whether the n-th field line is removed (-1, the status line, never is).
    @inline(__always)
    public func contains(line: Int) -> Bool {
        line >= 0 && line < 64 && lines & 1 << UInt64(line) != 0
    }
}
