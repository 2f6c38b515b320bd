// HeadLines: walks a head block as Shellac writes and stores it (a status line, then field lines,
// each ending in CRLF) a line at a time, finding line ends and colons with memchr. The store
// reads fields back from it; the response writer copies its lines, leaving some out.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum HeadLines {
    /// One line of a head block.
    public struct Line {
        /// -1 for the status line, then 0, 1, … for the field lines (counted from `firstPlace`).
        public let place: Int
        /// The whole line, its line end included.
        public let bytes: UnsafeRawBufferPointer
        /// The bytes before its colon (empty when it has none, as a status line).
        public let name: UnsafeRawBufferPointer
        /// The bytes after the colon and any spaces, up to the line end; nil without a colon.
        public let value: UnsafeRawBufferPointer?

        @usableFromInline
        init(place: Int, bytes: UnsafeRawBufferPointer, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
            self.place = place
            self.bytes = bytes
            self.name = name
            self.value = value
        }
    }

    /// Calls `body` with each line of `block` in order until it returns false. `firstPlace` is the
    /// first line's place: -1 for a head block, 0 for field lines alone. Inlined where it is
    /// used, so the body is not called through a closure for every line (about 1,400
    /// instructions on a hit that removes a stored field, measured).
    @inlinable @inline(__always)
    public static func forEach(in block: UnsafeRawBufferPointer, firstPlace: Int = -1, _ body: (Line) -> Bool) {
        guard let base = block.baseAddress else { return }
        var lineStart = 0
        var place = firstPlace
        while lineStart < block.count {
            let lineEnd: Int
            let next: Int
            if let newline = memchr(base + lineStart, 0x0A, block.count - lineStart) {
                let at = UnsafeRawPointer(newline) - base
                lineEnd = at > lineStart && block[at - 1] == 13 ? at - 1 : at
                next = at + 1
            } else {
                lineEnd = block.count
                next = block.count
            }
            var name = UnsafeRawBufferPointer(start: base + lineStart, count: 0)
            var value: UnsafeRawBufferPointer?
            if let colonPointer = memchr(base + lineStart, 0x3A, lineEnd - lineStart) {
                let colon = UnsafeRawPointer(colonPointer) - base
                var valueStart = colon + 1
                while valueStart < lineEnd, block[valueStart] == 0x20 { valueStart += 1 }
                name = UnsafeRawBufferPointer(start: base + lineStart, count: colon - lineStart)
                value = UnsafeRawBufferPointer(start: base + valueStart, count: lineEnd - valueStart)
            }
            let line = Line(place: place, bytes: UnsafeRawBufferPointer(start: base + lineStart, count: next - lineStart),
                            name: name, value: value)
            guard body(line) else { return }
            place += 1
            lineStart = next
        }
    }
}
