// GzipCoder: gzip compression or decompression of a body that arrives in pieces, through zlib's
// streaming interface (beresp.do_gzip and do_gunzip). Each piece in gives whatever coded bytes
// zlib has ready; `finish` gives the rest and checks that a decompressed body was whole.

import CZlib
import NIOCore

public final class GzipCoder {
    public enum Mode: Sendable {
        case compress
        case decompress
    }

    /// Why a body could not be coded: corrupt or truncated gzip, or zlib could not start.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// Whether a response with `fields` has a gzip body (its Content-Encoding).
    public static func isGzip(_ fields: HTTPFields) -> Bool {
        guard let value = fields.combined("Content-Encoding", nameBit: KnownName.contentEncoding) else { return false }
        let coding = value.trimmingOWS()
        return coding.equalsIgnoringASCIICase("gzip") || coding.equalsIgnoringASCIICase("x-gzip")
    }

    public let mode: Mode
    private var stream = z_stream()
    private var started: Bool
    /// The gzip data has ended: written whole (compressing), or read whole (decompressing; nothing
    /// may follow it).
    private var ended = false

    /// `level`: zlib's compression level (1 fastest … 9 smallest; 6, as Varnish's gzip_level).
    public init(_ mode: Mode, level: Int32 = 6) {
        self.mode = mode
        let size = Int32(MemoryLayout<z_stream>.size)
        // Window bits 15 + 16: the gzip wrapper (header and CRC trailer), not raw deflate or zlib's.
        let status = switch mode {
        case .compress: deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, size)
        case .decompress: inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, size)
        }
        started = status == Z_OK
    }

    deinit {
        guard started else { return }
        switch mode {
        case .compress: deflateEnd(&stream)
        case .decompress: inflateEnd(&stream)
        }
    }

    /// The coded bytes `input` yields so far (possibly none: zlib keeps some back until it has more).
    public func process(_ input: ByteBuffer, allocator: ByteBufferAllocator) throws(Failure) -> ByteBuffer {
        try run(input, finishing: false, allocator: allocator)
    }

    /// The last coded bytes. Decompressing, fails unless the gzip data ended properly.
    public func finish(allocator: ByteBufferAllocator) throws(Failure) -> ByteBuffer {
        let rest = try run(ByteBuffer(), finishing: true, allocator: allocator)
        if mode == .decompress && !ended { throw Failure(description: "the gzip data ends early") }
        return rest
    }

    private func run(_ input: ByteBuffer, finishing: Bool, allocator: ByteBufferAllocator) throws(Failure) -> ByteBuffer {
        guard started else { throw Failure(description: "zlib could not start") }
        if ended {
            guard input.readableBytes == 0 else { throw Failure(description: "data after the end of the gzip data") }
            return ByteBuffer()
        }
        // Compressed text is usually a quarter of its size or less; decompressed, four times more.
        let guess = mode == .compress ? input.readableBytes / 2 : input.readableBytes * 4
        var output = allocator.buffer(capacity: max(guess, 1024) + 64)
        var failure: Failure?
        input.withUnsafeReadableBytes { bytes in
            stream.next_in = UnsafeMutablePointer(mutating: bytes.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = UInt32(bytes.count)
            while true {
                if output.writableBytes == 0 { output.reserveCapacity(minimumWritableBytes: output.capacity) }
                let (status, produced) = output.withUnsafeMutableWritableBytes { out -> (Int32, Int) in
                    stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
                    stream.avail_out = UInt32(out.count)
                    let status = switch mode {
                    case .compress: deflate(&stream, finishing ? Z_FINISH : Z_NO_FLUSH)
                    case .decompress: inflate(&stream, Z_NO_FLUSH)
                    }
                    return (status, out.count - Int(stream.avail_out))
                }
                output.moveWriterIndex(forwardBy: produced)
                let outputFull = output.writableBytes == 0
                switch (mode, status) {
                case (.compress, Z_STREAM_END):
                    ended = true
                    return
                case (.compress, Z_OK), (.compress, Z_BUF_ERROR):
                    // Finishing goes on until the end is written; otherwise until the input is taken
                    // and zlib has nothing more ready (it filled less than the room it had).
                    if finishing || stream.avail_in > 0 || outputFull { continue }
                    return
                case (.decompress, Z_STREAM_END):
                    ended = true
                    if stream.avail_in > 0 { failure = Failure(description: "data after the end of the gzip data") }
                    return
                case (.decompress, Z_OK), (.decompress, Z_BUF_ERROR):
                    if stream.avail_in > 0 || outputFull { continue }
                    return
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    failure = Failure(description: mode == .compress ? message : "invalid gzip data: \(message)")
                    return
                }
            }
        }
        stream.next_in = nil
        stream.avail_in = 0
        stream.next_out = nil
        stream.avail_out = 0
        if let failure { throw failure }
        return output
    }
}
