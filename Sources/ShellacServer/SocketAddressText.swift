// SocketAddressText: a connection end's address as the text VCL's client.ip and server.ip hold.

import NIOCore
import ShellacHTTP

extension SocketAddress {
    /// The address as text: IPv4 written directly (see IPAddress.textV4), anything else as
    /// SwiftNIO prints it.
    var addressText: String? {
        guard case .v4(let v4) = self else { return ipAddress }
        return withUnsafeBytes(of: v4.address.sin_addr.s_addr) { IPAddress.textV4($0[0], $0[1], $0[2], $0[3]) }
    }
}
