// ClientAddresses: a client connection's addresses as VCL reads them. client.ip and server.ip
// (with their ports) are the connection's ends, or the ones a PROXY protocol header named; then
// remote.ip and local.ip stay the TCP connection's own ends (the terminator's address, and ours),
// as in Varnish.

import ShellacHTTP
import ShellacVCL

/// A class, made once per connection: every request's flow and fetch keeps it, and a copy is then
/// one reference rather than two Strings and a box (about 90 instructions a copy, several a pass).
public final class ClientAddresses: Sendable {
    /// client.ip (the source) and server.ip (the destination), with their ports.
    public let ends: ConnectionEnds
    /// The TCP connection's own ends once a PROXY header named another client; nil for the usual
    /// direct connection.
    public let proxied: ConnectionEnds?

    public convenience init(client: String, clientPort: Int = 0, server: String, serverPort: Int = 0) {
        self.init(ends: ConnectionEnds(source: client, sourcePort: clientPort, destination: server,
                                       destinationPort: serverPort), proxied: nil)
    }

    private init(ends: ConnectionEnds, proxied: ConnectionEnds?) {
        self.ends = ends
        self.proxied = proxied
    }

    public var client: String { ends.source }
    public var server: String { ends.destination }

    /// The addresses once a PROXY header named `named`: it becomes client.ip and server.ip, and the
    /// connection's own ends remote.ip and local.ip.
    public func proxied(as named: ConnectionEnds) -> ClientAddresses {
        ClientAddresses(ends: named, proxied: ends)
    }

    /// client.ip, server.ip, remote.ip and local.ip; nil for any other variable.
    func value(of variable: VariableID) -> VCLValue? {
        let own = proxied ?? ends
        switch variable {
        case .clientIP: return .ip(ends.source, port: ends.sourcePort)
        case .serverIP: return .ip(ends.destination, port: ends.destinationPort)
        case .remoteIP: return .ip(own.source, port: own.sourcePort)
        case .localIP: return .ip(own.destination, port: own.destinationPort)
        default: return nil
        }
    }
}
