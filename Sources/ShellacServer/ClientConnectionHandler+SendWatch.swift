// ClientConnectionHandler+SendWatch: a client that falls behind on a response is watched (see
// SendWatch) and the connection reset when it stops taking the response (idle_send_timeout) or
// stays behind too long (send_timeout). The watch starts when the channel stops being writable,
// when an idle connection still holds unsent bytes, and when a connection is closed after its
// last response; it costs nothing while responses fit in the socket. Same event loop and state
// as the handler.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import ShellacCore

extension ClientConnectionHandler {
    /// Starts watching the client, unless a watch is on already. A watch begins at most once a
    /// check interval (it lasts until a check finds the client caught up), so reading what the
    /// channel holds is rare. (The channel's drains are told to the watch as they happen.)
    func watchSending() {
        guard sendWatch == nil, !closed else { return }
        startWatch(unsent: unsentBytes)
    }

    /// Starts watching if the channel still holds bytes the client has not taken (an idle
    /// connection, or one closing after its last response); whether it does.
    @discardableResult
    func watchSendingIfUnsent() -> Bool {
        guard !closed else { return false }
        let unsent = unsentBytes
        guard unsent > 0 else { return false }
        if sendWatch == nil { startWatch(unsent: unsent) }
        return true
    }

    private func startWatch(unsent: Int) {
        let watch = SendWatch(now: Self.seconds(.now()), unsent: unsent)
        sendWatch = watch
        scheduleSendCheck(at: watch.firstCheck(sendLimits))
    }

    /// Bytes written to the channel and not yet handed to the socket.
    var unsentBytes: Int {
        (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    func stopWatchingSending() {
        sendCheck?.cancel()
        sendCheck = nil
        sendWatch = nil
    }

    private var sendLimits: SendWatch.Limits {
        let parameters = services.parameters
        return SendWatch.Limits(idle: parameters["idle_send_timeout"], total: parameters["send_timeout"])
    }

    private func scheduleSendCheck(at seconds: Double) {
        let deadline = NIODeadline.uptimeNanoseconds(UInt64(max(0, seconds * 1e9)))
        sendCheck = context.eventLoop.scheduleTask(deadline: deadline) {
            self.sendCheck = nil
            self.checkSending()
        }
    }

    private func checkSending() {
        guard !closed, var watch = sendWatch else { return }
        let verdict = watch.check(now: Self.seconds(.now()), unsent: unsentBytes, limits: sendLimits)
        sendWatch = watch
        switch verdict {
        case .checkAgain(let at):
            scheduleSendCheck(at: at)
        case .caughtUp:
            sendWatch = nil
            // An idle connection's time starts once its last response is out.
            if current == nil, !closing { armIdleTimer() }
        case .stalled, .tooLong:
            sendWatch = nil
            services.counters.increment(.sendTimeouts)
            // Reset rather than closed: the kernel would otherwise go on holding (and retrying)
            // the unsent bytes of a client that does not read them.
            _ = (context.channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            closeNow()
        }
    }

    private static func seconds(_ deadline: NIODeadline) -> Double {
        Double(deadline.uptimeNanoseconds) / 1e9
    }
}
