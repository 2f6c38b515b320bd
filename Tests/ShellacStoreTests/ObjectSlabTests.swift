// The slab that packs small stored objects into shared chunks: exact sizes, intact contents across
// chunk boundaries, big objects on their own, and concurrent use.

import NIOCore
import ShellacHTTP
import Testing
@testable import ShellacStore

@Suite struct ObjectSlabTests {
    /// `length` bytes of a pattern that differs per object, so a misplaced range shows.
    private func bytes(_ length: Int, seed: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    private func store(_ slab: ObjectSlab, _ content: [UInt8]) -> ByteBuffer {
        slab.allocate(length: content.count) { out in
            content.withUnsafeBytes { out.append(bytes: $0) }
        }
    }

    @Test func smallObjectsGetExactSlicesWithTheirOwnBytes() {
        let slab = ObjectSlab()
        // Enough 1,300-byte objects to fill several chunks.
        let contents = (0..<200).map { bytes(1_300, seed: $0) }
        let buffers = contents.map { store(slab, $0) }
        for (buffer, content) in zip(buffers, contents) {
            #expect(buffer.readableBytes == content.count)
            #expect(buffer.capacity == content.count)
            #expect(Array(buffer.readableBytesView) == content)
        }
    }

    @Test func objectsAreNotSplitAcrossChunks() {
        let slab = ObjectSlab()
        let size = ObjectSlab.largestPacked
        let count = ObjectSlab.chunkSize / size + 3
        let buffers = (0..<count).map { store(slab, bytes(size - 7, seed: $0)) }
        for (index, buffer) in buffers.enumerated() {
            #expect(Array(buffer.readableBytesView) == bytes(size - 7, seed: index))
        }
    }

    @Test func largeObjectsHaveTheirOwnBuffer() {
        let slab = ObjectSlab()
        let content = bytes(ObjectSlab.largestPacked + 1, seed: 9)
        let buffer = store(slab, content)
        #expect(Array(buffer.readableBytesView) == content)
        #expect(buffer.capacity >= content.count)
    }

    @Test func emptyObjectsWork() {
        let buffer = ObjectSlab().allocate(length: 0) { _ in }
        #expect(buffer.readableBytes == 0)
    }

    @Test func concurrentStoresKeepEveryObjectIntact() async {
        let slab = ObjectSlab()
        let results = await withTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    (0..<200).allSatisfy { index in
                        let content = self.bytes(100 + (index * 37) % 3_000, seed: task * 1_000 + index)
                        return Array(self.store(slab, content).readableBytesView) == content
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }

    @Test func aStoredObjectServesItsHeadAndBodyFromOneExactSlice() {
        let object = StoredObject(key: CacheKey(parts: ["/a", "h"]), status: 200, reason: "OK",
                                  fields: HTTPFields([("Content-Type", "text/plain")]),
                                  body: [ByteBuffer(string: "hello "), ByteBuffer(string: "world")],
                                  varyNames: [], varyValues: [], storedAt: 0, initialAge: 0, ttl: 60, grace: 0,
                                  keep: 0)
        #expect(String(buffer: object.headBlock) == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
        #expect(String(buffer: object.body) == "hello world")
        #expect(object.headBlock.capacity + object.body.capacity == object.headBlock.readableBytes + 11)
    }

    @Test func theKeyAndReasonAreReadBackFromTheStoredBytes() {
        let key = CacheKey(parts: ["/a?b=1", "example.com"])
        let custom = StoredObject(key: key, status: 200, reason: "Fine Thanks", fields: HTTPFields(),
                                  body: [ByteBuffer(string: "x")], varyNames: [], varyValues: [], storedAt: 0,
                                  initialAge: 0, ttl: 60, grace: 0, keep: 0)
        #expect(custom.key == key && custom.key.value == key.value)
        #expect(custom.hasKey(key) && !custom.hasKey(CacheKey(parts: ["/a?b=2", "example.com"])))
        #expect(custom.reason == "Fine Thanks" && custom.status == 200)
        #expect(String(buffer: custom.body) == "x", "the key's bytes follow the body, not inside it")
        let standard = StoredObject(key: key, status: 404, reason: "Not Found", fields: HTTPFields(), body: [],
                                    varyNames: [], varyValues: [], storedAt: 0, initialAge: 0, ttl: 1.5,
                                    grace: 0.25, keep: 86_400)
        #expect(standard.reason == "Not Found" && standard.hasSameKey(as: custom))
        #expect(standard.ttl == 1.5 && standard.grace == 0.25 && standard.keep == 86_400)
        #expect(standard.contentLength == 0 && custom.contentLength == 1)
    }
}
