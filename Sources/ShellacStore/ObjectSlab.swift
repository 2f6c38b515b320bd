// ObjectSlab: exactly-sized storage for small stored objects. SwiftNIO rounds every ByteBuffer
// allocation up to a power of two, so a 1.3 KiB object alone would take 2 KiB. Here small objects
// are packed one after another into shared 64 KiB chunks and each gets a slice of exactly its
// length: still a ByteBuffer, written to sockets as it is. A chunk's memory is returned when the
// last object in it is gone; objects stored together mostly age and leave together (LRU, TTLs).
// Larger objects get a buffer of their own, where the rounding matters less.

import NIOCore
import ShellacHTTP
import Synchronization

final class ObjectSlab: Sendable {
    /// Bytes per chunk: a power of two, so NIO allocates exactly this much.
    static let chunkSize = 64 * 1024
    /// The largest object packed into chunks: at most 1/16 of a chunk is left unused at its end.
    static let largestPacked = chunkSize / 16

    /// The chunk being filled. Its writer index is at its end from the start, so slices of any part
    /// can be taken without writing through the ByteBuffer (which would copy the shared storage).
    private struct Chunk: @unchecked Sendable {
        let buffer: ByteBuffer
        /// The chunk's memory, written through once per object, each object in its own range.
        let base: UnsafeMutableRawPointer
        var used = 0
    }

    private let current = Mutex<Chunk?>(nil)

    /// The process-wide slab: objects are made on every event loop; the lock covers only taking a
    /// range, not the copying.
    static let shared = ObjectSlab()

    /// A buffer of exactly `length` readable bytes, filled by `write` (which must write them all).
    func allocate(length: Int, write: (inout HeadWriter) -> Void) -> ByteBuffer {
        guard length > 0, length <= Self.largestPacked else {
            var own = ByteBufferAllocator().buffer(capacity: length)
            own.writeHead(capacity: length, write)
            precondition(own.readableBytes == length, "object bytes not as promised")
            return own
        }
        let (slice, target) = current.withLock { chunk -> (ByteBuffer, UnsafeMutableRawPointer) in
            if chunk == nil || chunk!.used + length > Self.chunkSize { chunk = Self.newChunk() }
            let offset = chunk!.used
            chunk!.used += length
            return (chunk!.buffer.getSlice(at: offset, length: length)!, chunk!.base + offset)
        }
        var writer = HeadWriter(UnsafeMutableRawBufferPointer(start: target, count: length))
        write(&writer)
        precondition(writer.written == length, "object bytes not as promised")
        return slice
    }

    private static func newChunk() -> Chunk {
        var buffer = ByteBufferAllocator().buffer(capacity: chunkSize)
        let base = buffer.withVeryUnsafeMutableBytes { $0.baseAddress! }  // unique here: no copy
        buffer.moveWriterIndex(to: chunkSize)
        return Chunk(buffer: buffer, base: base)
    }
}
