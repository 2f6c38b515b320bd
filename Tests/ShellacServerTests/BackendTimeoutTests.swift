// The backend response time limits on a virtual clock: first byte, then between bytes, each
// measured from the right moment, tighter limits on a reused connection honoured, and no limit
// while reading is paused for a slow client.

import NIOCore
import NIOEmbedded
import ShellacHTTP
import Testing
@testable import ShellacServer

@Suite struct BackendTimeoutTests {
    final class Recorder: BackendExchangeDelegate {
        var heads = 0
        var ended = false
        var failure: String?
        func backendResponseHead(_ head: consuming HTTPResponseHead) { heads += 1 }
        func backendResponseBody(_ chunk: ByteBuffer) {}
        func backendResponseEnd(connectionReusable: Bool) { ended = true }
        func backendReadComplete() {}
        func backendExchangeFailed(_ error: BackendError, receivedAnything: Bool) { failure = "\(error)" }
        func backendWritabilityChanged(_ writable: Bool) {}
    }

    private func connected() throws -> (EmbeddedEventLoop, EmbeddedChannel, BackendConnectionHandler) {
        let loop = EmbeddedEventLoop()
        let handler = BackendConnectionHandler()
        let channel = EmbeddedChannel(handler: handler, loop: loop)
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return (loop, channel, handler)
    }

    private func begin(_ handler: BackendConnectionHandler, _ recorder: Recorder, firstByte: Int64, betweenBytes: Int64) {
        handler.begin(delegate: recorder, requestWasHEAD: false, firstByte: .seconds(firstByte),
                      betweenBytes: .seconds(betweenBytes))
    }

    @Test func noFirstByteInTimeFailsTheExchange() throws {
        let (loop, _, handler) = try connected()
        let recorder = Recorder()
        begin(handler, recorder, firstByte: 2, betweenBytes: 10)
        loop.advanceTime(by: .milliseconds(1_900))
        #expect(recorder.failure == nil)
        loop.advanceTime(by: .milliseconds(200))
        #expect(recorder.failure?.contains("first byte") == true)
    }

    @Test func eachReadRestartsTheBetweenBytesLimit() throws {
        let (loop, channel, handler) = try connected()
        let recorder = Recorder()
        begin(handler, recorder, firstByte: 2, betweenBytes: 3)
        loop.advanceTime(by: .seconds(1))
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"))
        loop.advanceTime(by: .milliseconds(2_500))  // past the first-byte limit, within between-bytes
        #expect(recorder.failure == nil)
        try channel.writeInbound(ByteBuffer(string: "c"))
        loop.advanceTime(by: .milliseconds(2_500))
        #expect(recorder.failure == nil)
        loop.advanceTime(by: .seconds(1))
        #expect(recorder.failure?.contains("between bytes") == true)
    }

    @Test func aTighterLimitOnAReusedConnectionIsHonoured() throws {
        let (loop, channel, handler) = try connected()
        let first = Recorder()
        begin(handler, first, firstByte: 60, betweenBytes: 60)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        #expect(first.ended && first.failure == nil)
        let second = Recorder()
        begin(handler, second, firstByte: 1, betweenBytes: 60)
        loop.advanceTime(by: .milliseconds(1_100))
        #expect(second.failure?.contains("first byte") == true)
        #expect(first.failure == nil)
    }

    @Test func pausedReadingIsNotTimed() throws {
        let (loop, channel, handler) = try connected()
        let recorder = Recorder()
        begin(handler, recorder, firstByte: 1, betweenBytes: 1)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"))
        handler.pauseReading()
        loop.advanceTime(by: .seconds(30))
        #expect(recorder.failure == nil)
        handler.resumeReading()
        loop.advanceTime(by: .milliseconds(900))
        #expect(recorder.failure == nil)
        loop.advanceTime(by: .milliseconds(200))
        #expect(recorder.failure?.contains("between bytes") == true)
    }
}
