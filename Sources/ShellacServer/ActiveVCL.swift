// ActiveVCL: a loaded VCL program as the server runs it, with its backends' socket addresses
// resolved at load (never on an event loop per request). A backend given by host name keeps
// its resolved address in a BackendTarget that the server re-resolves periodically, so a
// backend that moves (containers, failover DNS) is followed without a reload. Requests take
// the active VCL when they start and keep it to the end; a reload swaps in a new one.

import NIOCore
import ShellacVCL
import Synchronization

/// Turns a host name and port into an address (getaddrinfo, or a test's stand-in).
public typealias BackendResolver = @Sendable (_ host: String, _ port: Int) throws -> SocketAddress

/// The system's resolver (getaddrinfo).
public let systemBackendResolver: BackendResolver = { host, port in
    try SocketAddress.makeAddressResolvingHost(host, port: port)
}

public final class ActiveVCL: Sendable {
    public let name: String
    public let program: VCLProgram
    let backends: [String: (definition: BackendDefinition, target: BackendTarget)]

    /// Resolves every backend's address; throws naming the backend that cannot be resolved.
    init(name: String, program: VCLProgram, resolve: BackendResolver) throws {
        self.name = name
        self.program = program
        var backends: [String: (BackendDefinition, BackendTarget)] = [:]
        for definition in program.backends where !definition.isNone {
            backends[definition.name] = (definition, try BackendTarget(definition, resolve: resolve))
        }
        self.backends = backends
    }

    /// Backends given by host name (not an IP address or a Unix socket): re-resolved periodically.
    var namedTargets: [(name: String, target: BackendTarget)] {
        backends.compactMap { name, backend in backend.target.host == nil ? nil : (name, backend.target) }
            .sorted { $0.name < $1.name }
    }
}

/// Where a backend is: a fixed address, or a host name's current address.
final class BackendTarget: Sendable {
    /// The host name to re-resolve, nil for an IP address or a Unix socket.
    let host: String?
    let port: Int
    private let current: Mutex<SocketAddress>
    /// How many times the address has changed: a pool made for the address read at one count
    /// is still right while the count is the same (comparing the addresses took a lock and a
    /// socket-address comparison on every fetch).
    private let changes = Atomic<Int>(0)
    var changeCount: Int { changes.load(ordering: .acquiring) }

    init(_ definition: BackendDefinition, resolve: BackendResolver) throws {
        if let path = definition.path {
            host = nil
            port = 0
            current = Mutex(try SocketAddress(unixDomainSocketPath: path))
            return
        }
        guard let port = Int(definition.port), (1...65535).contains(port) else {
            throw BackendAddressError(message: "backend \(definition.name): port '\(definition.port)' is not a "
                                      + "number from 1 to 65535")
        }
        self.port = port
        let name = definition.host ?? ""
        if let literal = try? SocketAddress(ipAddress: name, port: port) {
            host = nil
            current = Mutex(literal)
            return
        }
        host = name
        do {
            current = Mutex(try resolve(name, port))
        } catch {
            throw BackendAddressError(message: "backend \(definition.name): cannot resolve '\(name)': \(error)")
        }
    }

    var address: SocketAddress { current.withLock { $0 } }

    /// Resolves the host name again; returns the new address when it changed.
    func refresh(_ resolve: BackendResolver) -> SocketAddress? {
        guard let host, let fresh = try? resolve(host, port) else { return nil }
        return current.withLock { address in
            guard address != fresh else { return nil }
            address = fresh
            changes.add(1, ordering: .releasing)
            return fresh
        }
    }
}

public struct BackendAddressError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
