// GzipCoder: bodies compressed and decompressed in pieces come back byte for byte; corrupt,
// truncated or trailing gzip data is refused rather than passed on.

import NIOCore
import ShellacHTTP
import ShellacTestSupport
import Testing

@Suite struct GzipCoderTests {
    let allocator = ByteBufferAllocator()

    /// Text with some repetition and some noise, so compression does real work.
    func sample(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { index in
            index % 7 == 0 ? UInt8.random(in: 0x61...0x7A, using: &generator) : UInt8(ascii: "a") + UInt8(index % 13)
        }
    }

    /// Runs `bytes` through a coder in pieces of `piece` bytes.
    func code(_ mode: GzipCoder.Mode, _ bytes: [UInt8], piece: Int) throws -> [UInt8] {
        let coder = GzipCoder(mode)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let end = min(index + piece, bytes.count)
            var part = try coder.process(ByteBuffer(bytes: bytes[index..<end]), allocator: allocator)
            out += part.readBytes(length: part.readableBytes)!
            index = end
        }
        var rest = try coder.finish(allocator: allocator)
        out += rest.readBytes(length: rest.readableBytes)!
        return out
    }

    @Test(arguments: [(0, 100), (1, 1), (5_000, 1), (5_000, 700), (300_000, 16_384), (300_000, 300_000)])
    func aBodyComesBackWhole(size: Int, piece: Int) throws {
        let body = sample(size)
        let compressed = try code(.compress, body, piece: piece)
        #expect(compressed.starts(with: [0x1F, 0x8B]), "a gzip header")
        if size >= 5_000 { #expect(compressed.count < size / 2) }
        #expect(try code(.decompress, compressed, piece: piece) == body)
        #expect(try code(.decompress, compressed, piece: 3) == body)
    }

    @Test func corruptDataIsRefused() throws {
        var compressed = try code(.compress, sample(10_000), piece: 10_000)
        compressed[compressed.count / 2] ^= 0xFF
        compressed[compressed.count / 2 + 1] ^= 0x5A
        #expect(throws: GzipCoder.Failure.self) { try code(.decompress, compressed, piece: 1_000) }
        #expect(throws: GzipCoder.Failure.self) { try code(.decompress, Array("not gzip at all".utf8), piece: 100) }
    }

    @Test func truncatedDataIsRefusedAtTheEnd() throws {
        let compressed = try code(.compress, sample(10_000), piece: 10_000)
        let coder = GzipCoder(.decompress)
        _ = try coder.process(ByteBuffer(bytes: compressed.dropLast(6)), allocator: allocator)
        #expect(throws: GzipCoder.Failure(description: "the gzip data ends early")) {
            try coder.finish(allocator: allocator)
        }
    }

    @Test func dataAfterTheEndIsRefused() throws {
        let compressed = try code(.compress, sample(1_000), piece: 1_000)
        #expect(throws: GzipCoder.Failure(description: "data after the end of the gzip data")) {
            try code(.decompress, compressed + [0x41, 0x42], piece: 5_000)
        }
        #expect(throws: GzipCoder.Failure(description: "data after the end of the gzip data")) {
            try code(.decompress, compressed + [0x41, 0x42], piece: compressed.count)
        }
    }

    /// Random bytes, and valid gzip with random bytes changed or cut off, in random pieces: each
    /// either decompresses or is refused with a Failure; nothing traps or loops.
    @Test func arbitraryInputIsDecompressedOrRefused() throws {
        var generator = SeededGenerator(state: 0x9A1B)
        let valid = try code(.compress, sample(20_000), piece: 20_000)
        for round in 0..<300 {
            var input: [UInt8]
            switch round % 3 {
            case 0:
                input = (0..<Int.random(in: 0...3_000, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
                if round % 2 == 0, input.count >= 3 { input[0] = 0x1F; input[1] = 0x8B; input[2] = 8 }  // a gzip header
            case 1:
                input = valid
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    input[Int.random(in: 0..<input.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            default:
                input = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &generator)))
            }
            do {
                _ = try code(.decompress, input, piece: Int.random(in: 1...4_096, using: &generator))
            } catch is GzipCoder.Failure {
                continue
            }
        }
    }
}
