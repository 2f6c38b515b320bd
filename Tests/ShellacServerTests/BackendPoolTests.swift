// The backend pool's idle handling on a virtual clock: connections are handed out newest first,
// kept while younger than backend_idle_timeout, and closed by the pool's sweep once older.

import NIOCore
import NIOEmbedded
import ShellacCore
import ShellacVCL
import Testing
@testable import ShellacServer

@Suite struct BackendPoolTests {
    private func pool(on loop: EmbeddedEventLoop, idleTimeout: String = "10", maxIdle: String = "100") throws -> BackendPool {
        var parameters = Parameters()
        try parameters.set("backend_idle_timeout", idleTimeout)
        try parameters.set("backend_max_idle", maxIdle)
        return BackendPool(eventLoop: loop, address: try SocketAddress(ipAddress: "127.0.0.1", port: 9),
                           definition: BackendDefinition(name: "default", host: "127.0.0.1", port: "9"),
                           parameters: parameters, counters: Counters())
    }

    private func connection(on loop: EmbeddedEventLoop) throws -> BackendConnection {
        let channel = EmbeddedChannel(loop: loop)
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return BackendConnection(channel: channel, handler: BackendConnectionHandler())
    }

    @Test func connectionsAreReusedNewestFirstWhileYoung() throws {
        let loop = EmbeddedEventLoop()
        let pool = try pool(on: loop)
        let (older, newer) = (try connection(on: loop), try connection(on: loop))
        pool.release(older, reusable: true)
        loop.advanceTime(by: .seconds(1))
        pool.release(newer, reusable: true)
        loop.advanceTime(by: .seconds(5))
        #expect(pool.takeIdle() === newer)
        #expect(pool.takeIdle() === older)
        #expect(pool.takeIdle() == nil)
        #expect(older.channel.isActive && newer.channel.isActive)
    }

    @Test func eachIdleConnectionIsClosedAtItsOwnDeadline() throws {
        let loop = EmbeddedEventLoop()
        let pool = try pool(on: loop)
        let (first, second) = (try connection(on: loop), try connection(on: loop))
        pool.release(first, reusable: true)
        loop.advanceTime(by: .seconds(4))
        pool.release(second, reusable: true)
        loop.advanceTime(by: .seconds(7))  // first idle 11 s, second 7 s
        #expect(!first.channel.isActive)
        #expect(second.channel.isActive)
        loop.advanceTime(by: .seconds(4))  // second idle 11 s
        #expect(!second.channel.isActive)
        #expect(pool.takeIdle() == nil)
    }

    @Test func reuseRestartsTheIdleClock() throws {
        let loop = EmbeddedEventLoop()
        let pool = try pool(on: loop)
        let connection = try connection(on: loop)
        for _ in 0..<5 {
            pool.release(connection, reusable: true)
            loop.advanceTime(by: .seconds(8))
            #expect(pool.takeIdle() === connection)
        }
        pool.release(connection, reusable: true)
        loop.advanceTime(by: .seconds(10))
        #expect(!connection.channel.isActive)
    }

    @Test func unreusableOrSurplusConnectionsAreClosedAtOnce() throws {
        let loop = EmbeddedEventLoop()
        let pool = try pool(on: loop, maxIdle: "1")
        let (kept, surplus, spent) = (try connection(on: loop), try connection(on: loop), try connection(on: loop))
        pool.release(kept, reusable: true)
        pool.release(surplus, reusable: true)
        pool.release(spent, reusable: false)
        loop.run()
        #expect(kept.channel.isActive)
        #expect(!surplus.channel.isActive && !spent.channel.isActive)
    }
}
