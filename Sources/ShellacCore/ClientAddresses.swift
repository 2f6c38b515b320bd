// ClientAddresses: a client connection's addresses as VCL reads them. client.ip and server.ip
// (with their ports) are the connection's ends, or the ones a PROXY protocol header named; then
// remote.ip and local.ip stay the TCP connection's own ends (the terminator's address, and ours),
// as in Varnish.

import ShellacHTTP
import ShellacVCL

public struct ClientAddresses: Sendable {
    /// client.ip (the source) and server.ip (the destination), with their ports.
    public private(set) var ends: ConnectionEnds
    /// The TCP connection's own ends once a PROXY header named another client; nil for the usual
    /// direct connection (boxed: one reference in each request's context).
    public private(set) var proxied: ProxiedConnection?

    public init(client: String, clientPort: Int = 0, server: String, serverPort: Int = 0) {
        ends = ConnectionEnds(source: client, sourcePort: clientPort, destination: server, destinationPort: serverPort)
    }

    public var client: String { ends.source }
    public var server: String { ends.destination }

    /// A PROXY header named `named`: it becomes client.ip and server.ip, and the connection's own
    /// ends remote.ip and local.ip.
    public mutating func proxy(as named: ConnectionEnds) {
        proxied = ProxiedConnection(ends)
        ends = named
    }

    /// client.ip, server.ip, remote.ip and local.ip; nil for any other variable.
    func value(of variable: VariableID) -> VCLValue? {
        let own = proxied?.ends ?? ends
        switch variable {
        case .clientIP: return .ip(ends.source, port: ends.sourcePort)
        case .serverIP: return .ip(ends.destination, port: ends.destinationPort)
        case .remoteIP: return .ip(own.source, port: own.sourcePort)
        case .localIP: return .ip(own.destination, port: own.destinationPort)
        default: return nil
        }
    }
}

/// The TCP connection's own ends, kept when a PROXY header named another client.
public final class ProxiedConnection: Sendable {
    public let ends: ConnectionEnds

    init(_ ends: ConnectionEnds) {
        self.ends = ends
    }
}
