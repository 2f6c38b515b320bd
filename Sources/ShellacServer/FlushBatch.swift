// FlushBatch: client connections that wrote while a backend connection's read was being
// handled, flushed together once that read is done. A response streamed from a fetch is written
// from the backend's read (its head, body and end often arrive in one read): one flush at the
// end of the read replaces a task scheduled on the event loop for every response. One per
// event loop, confined to it.

final class FlushBatch {
    private var depth = 0
    private var waiting: [ClientConnectionHandler] = []

    /// Whether a backend read is being handled on this loop: a flush asked for now can wait for
    /// the end of it.
    var isOpen: Bool { depth > 0 }

    func add(_ handler: ClientConnectionHandler) {
        waiting.append(handler)
    }

    /// Handles one read (`body`), then flushes every connection that asked meanwhile.
    func around(_ body: () -> Void) {
        depth += 1
        body()
        depth -= 1
        guard depth == 0, !waiting.isEmpty else { return }
        var index = 0
        while index < waiting.count {  // a flush may close a connection; it never adds to the batch
            waiting[index].flushFromBatch()
            index += 1
        }
        waiting.removeAll(keepingCapacity: true)
    }
}
