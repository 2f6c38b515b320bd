// ProxiedConnection: the connection itself, when a PROXY protocol header named another client.
// VCL's client.ip and server.ip are then the addresses the header gave; remote.ip and local.ip
// stay the ends of the TCP connection (the terminator's address, and ours), as in Varnish.
// A class: a request's context holds one reference, nil for the usual direct connection.

import ShellacHTTP

public final class ProxiedConnection: Sendable {
    /// The TCP connection's ends: the terminator (source) and us (destination).
    public let ends: ConnectionEnds

    public init(_ ends: ConnectionEnds) {
        self.ends = ends
    }
}
