// ListenFailure: why a listening socket (the proxy's, the admin channel's, the metrics one's)
// could not be opened, in words a person running the daemon can act on, in place of the
// socket layer's text.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

public struct ListenFailure: Error, CustomStringConvertible {
    /// HOST:PORT as given.
    public let address: String
    public let reason: String

    public init(address: String, error: any Error) {
        self.address = address
        reason = Self.reason(for: error)
    }

    public var description: String { "\(address): cannot listen: \(reason)" }

    static func reason(for error: any Error) -> String {
        guard let io = error as? IOError else { return "\(error)" }
        let text = String(cString: strerror(io.errnoCode))
        switch io.errnoCode {
        case EADDRINUSE: return "\(text) (another process listens there; pick another port or stop it)"
        case EACCES: return "\(text) (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        case EADDRNOTAVAIL: return "\(text) (no interface of this machine has that address)"
        default: return text
        }
    }
}
