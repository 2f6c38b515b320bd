// RawListener: a loopback listener for test origins that speak bytes rather than HTTP through
// NIOHTTP1 (a tunnel's far end, a backend that expects a PROXY header): each connection gets a
// handler of its own.

import NIOCore
import NIOPosix

public final class RawListener: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    public let port: Int

    public init(_ makeHandler: @escaping @Sendable () -> any ChannelHandler & Sendable) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}
