// ProxiedConnection: the connection itself, when a PROXY protocol header named another client.
// VCL's client.ip and server.ip are then the addresses the header gave; remote.ip and local.ip
// stay the ends of the TCP connection (the terminator's address, and ours), as in Varnish.
// A class: a request's context holds one reference, nil for the usual direct connection.

public final class ProxiedConnection: Sendable {
    public let remoteAddress: String
    public let remotePort: Int
    public let localAddress: String
    public let localPort: Int

    public init(remoteAddress: String, remotePort: Int, localAddress: String, localPort: Int) {
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.localAddress = localAddress
        self.localPort = localPort
    }
}
