// AcceptFailures: what a listener does when accepting a connection fails (the process or the
// system is out of file descriptors, or of memory for sockets). The listening socket stays
// readable while the connections wait in its backlog, so retrying at once spins an event loop
// at full CPU for as long as the condition lasts; instead the listener stops accepting for
// `accept_backoff` and tries again, leaving the waiting connections in the backlog. Each failure
// counts in sess_fail; the log says so once, then at most once every `logInterval` with the
// count since, so a flood of connections cannot flood the log too.

import Logging
import NIOCore
import NIOPosix

final class AcceptFailures: Sendable {
    static let logInterval: Double = 10

    private let services: ServerServices
    private let logger: Logger
    private let listener: String
    /// When the last line was logged (monotonic seconds) and the failures since.
    private let logState = LockedValue<LogState>(LogState())

    private struct LogState {
        var loggedAt: Double?
        var unlogged = 0
    }

    init(services: ServerServices, logger: Logger, listener: String) {
        self.services = services
        self.logger = logger
        self.listener = listener
    }

    /// The pause before the listener accepts again after `error`.
    func pause(after error: IOError) -> TimeAmount {
        let now = Double(NIODeadline.now().uptimeNanoseconds) / 1e9
        services.counters.increment(.acceptFailures)
        let pause = services.parameters["accept_backoff"]
        let line: Int? = logState.withLockedValue { state in
            state.unlogged += 1
            if let last = state.loggedAt, now - last < Self.logInterval { return nil }
            defer { state = LogState(loggedAt: now) }
            return state.unlogged
        }
        if let failures = line {
            logger.warning("accepting a connection failed; waiting before accepting again", metadata: [
                "listener": "\(listener)", "error": "\(error)", "failures": "\(failures)",
                "pause": "\(pause)s",
            ])
        }
        return .duration(pause)
    }
}

/// A listener's handler that carries the pauses out: it stops the listener reading (which takes
/// its socket out of the event loop's interest set) and starts it again when the pause is over.
/// SwiftNIO's own AcceptBackoffHandler only delays the next read it is asked for, while the
/// listener, still waiting for the read that failed, stays registered for readability, so the
/// loop kept waking to fail again.
final class AcceptPauseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel

    private let failures: AcceptFailures
    private var resume: Scheduled<Void>?

    init(failures: AcceptFailures) {
        self.failures = failures
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? IOError, error.isLocalShortage else {
            context.fireErrorCaught(error)
            return
        }
        let pause = failures.pause(after: error)
        guard resume == nil, let options = context.channel.syncOptions else { return }
        try? options.setOption(.autoRead, value: false)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop), channel = context.channel
        resume = context.eventLoop.scheduleTask(in: pause) {
            handler.value.resume = nil
            channel.setOption(.autoRead, value: true).whenFailure { _ in }  // closed meanwhile
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }
}

extension IOError {
    /// This machine, not the peer, ran out of what a connection needs: file descriptors (of the
    /// process or the system), socket memory, or local ports. Listeners pause on it; a backend's
    /// health does not count it.
    var isLocalShortage: Bool {
        [EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL].contains(errnoCode)
    }
}

extension ServerBootstrap {
    /// Listeners pause after a failed accept instead of retrying at once (see AcceptFailures).
    func pausingAfterFailedAccepts(_ failures: AcceptFailures) -> ServerBootstrap {
        serverChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler(failures: failures))
            }
        }
    }
}
