// AdminServer: the admin channel's listener (loopback TCP or a Unix socket with mode 0600) and
// its connections. Speaks Varnish's CLI protocol: a challenge on connect when a secret is set,
// nothing but `auth` until it is answered (a wrong answer is logged and the connection closed;
// no answer within timeout_req closes it too), then one command per line, each answered with
// status, length and body. Commands run off the event loops, one at a time per connection.

import Foundation
import Logging
import NIOCore
import NIOPosix
import ShellacAdmin

public struct AdminConfiguration: Sendable {
    /// "HOST:PORT" or "unix:/path".
    public var listen: String
    /// The secret file's bytes; nil lets anyone who can connect run commands.
    public var secret: [UInt8]?

    public init(listen: String, secret: [UInt8]?) {
        self.listen = listen
        self.secret = secret
    }
}

final class AdminServer: Sendable {
    private let channel: any Channel

    /// Binds the listener; commands run through `execute`.
    init(configuration: AdminConfiguration, group: any EventLoopGroup, logger: Logger, authTimeout: TimeAmount,
         acceptFailures: AcceptFailures, execute: @escaping @Sendable ([String]) -> CLIResponse) async throws {
        let secret = configuration.secret
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .pausingAfterFailedAccepts(acceptFailures)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AdminConnection(secret: secret, logger: logger, authTimeout: authTimeout, execute: execute))
                }
            }
        if configuration.listen.hasPrefix("unix:") {
            let path = String(configuration.listen.dropFirst(5))
            channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            chmod(path, 0o600)
        } else {
            guard let colon = configuration.listen.lastIndex(of: ":"),
                  let port = Int(configuration.listen[configuration.listen.index(after: colon)...]) else {
                throw BackendAddressError(message: "-T \(configuration.listen): expected HOST:PORT or unix:/path")
            }
            var host = String(configuration.listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            channel = try await bootstrap.bind(host: host.isEmpty ? "127.0.0.1" : host, port: port).get()
        }
    }

    var localAddress: SocketAddress? { channel.localAddress }

    func close() async {
        try? await channel.close()
    }
}

/// One admin connection. Confined to its event loop.
final class AdminConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let maxLine = 64 * 1024

    private let secret: [UInt8]?
    private let logger: Logger
    private let execute: @Sendable ([String]) -> CLIResponse
    private var challenge = ""
    private var authenticated: Bool
    private var pending: [UInt8] = []
    /// How long a connection may take to authenticate, and the timer that holds it to that: a
    /// connection that never answers the challenge would otherwise stay open for good.
    private let authTimeout: TimeAmount
    private var authTimer: Scheduled<Void>?
    /// A command is running (off the event loop); the lines after it wait their turn.
    private var running = false

    init(secret: [UInt8]?, logger: Logger, authTimeout: TimeAmount,
         execute: @escaping @Sendable ([String]) -> CLIResponse) {
        self.secret = secret
        self.logger = logger
        self.authTimeout = authTimeout
        self.execute = execute
        self.authenticated = secret == nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if authenticated {
            send(CLIResponse(.ok, Self.banner), context: context)
        } else {
            challenge = CLIAuthentication.challenge()
            send(CLIResponse(.authenticate, "\(challenge)\n\nAuthentication required.\n"), context: context)
            authTimer = context.eventLoop.scheduleTask(in: authTimeout) {
                guard !self.authenticated, context.channel.isActive else { return }
                self.send(CLIResponse(.close, "Authentication timed out"), context: context, thenClose: true)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        authTimer?.cancel()
        authTimer = nil
        context.fireChannelInactive()
    }

    static let banner = "-----------------------------\nShellac admin channel\n-----------------------------\n\n"
        + "Type 'help' for the commands, 'quit' to close.\n"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        handleLines(context: context)
    }

    /// Handles the complete lines received, in order, until one starts a command.
    private func handleLines(context: ChannelHandlerContext) {
        while !running, let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = String(decoding: pending[..<newline], as: UTF8.self)
            pending.removeFirst(newline + 1)
            if line.hasSuffix("\r") { line.removeLast() }
            handle(line, context: context)
            if !context.channel.isActive { return }
        }
        // A line that does not end, or more commands queued behind a running one than a few lines' worth.
        let limit = running ? 16 * Self.maxLine : Self.maxLine
        if pending.count > limit {
            send(CLIResponse(.close, "Command line too long"), context: context, thenClose: true)
        }
    }

    private func handle(_ line: String, context: ChannelHandlerContext) {
        let words: [String]
        do {
            words = try CLICommandLine.words(line)
        } catch {
            send(CLIResponse(.syntax, "\(error)"), context: context)
            return
        }
        guard let command = words.first else { return }
        if !authenticated {
            guard command == "auth", words.count == 2, let secret else {
                send(CLIResponse(.authenticate, "\(challenge)\n\nAuthentication required.\n"), context: context)
                return
            }
            if CLIAuthentication.matches(words[1], CLIAuthentication.answer(challenge: challenge, secret: secret)) {
                authenticated = true
                authTimer?.cancel()
                authTimer = nil
                send(CLIResponse(.ok, Self.banner), context: context)
            } else {
                logger.warning("admin authentication failed", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
                send(CLIResponse(.close, "Authentication failed"), context: context, thenClose: true)
            }
            return
        }
        switch command {
        case "auth":
            send(CLIResponse(.ok, Self.banner), context: context)
        case "quit":
            send(CLIResponse(.close, "Closing CLI connection"), context: context, thenClose: true)
        default:
            run(words, context: context)
        }
    }

    /// Runs a command off the event loop, then answers it and goes on with the lines after it:
    /// a ban or a purge by URL walks every stored object (half a second for half a million), and
    /// the loop's client connections would wait for it.
    private func run(_ words: [String], context: ChannelHandlerContext) {
        running = true
        let execute = self.execute
        let loop = context.eventLoop
        let connection = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        Task.detached {
            let response = execute(words)
            loop.execute {
                let (handler, context) = connection.value
                handler.running = false
                guard context.channel.isActive else { return }
                handler.send(response, context: context)
                handler.handleLines(context: context)
            }
        }
    }

    private func send(_ response: CLIResponse, context: ChannelHandlerContext, thenClose: Bool = false) {
        let bytes = context.channel.allocator.buffer(string: response.encoded)
        if thenClose {
            let channel = context.channel  // the channel, not the context, may be used from the callback
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
