// ActiveVCL: a loaded VCL program as the server runs it: its backends' socket addresses resolved
// once at load (not on an event loop per request). Requests take the active one when they start
// and keep it to the end; a reload swaps in a new one for later requests.

import NIOCore
import ShellacVCL

public final class ActiveVCL: Sendable {
    public let name: String
    public let program: VCLProgram
    let backends: [String: (definition: BackendDefinition, address: SocketAddress)]

    /// Resolves every backend's address; throws naming the backend that cannot be resolved.
    public init(name: String, program: VCLProgram) throws {
        self.name = name
        self.program = program
        var backends: [String: (BackendDefinition, SocketAddress)] = [:]
        for definition in program.backends where !definition.isNone {
            do {
                let address: SocketAddress
                if let path = definition.path {
                    address = try SocketAddress(unixDomainSocketPath: path)
                } else {
                    guard let port = Int(definition.port), (1...65535).contains(port) else {
                        throw BackendAddressError(message: "backend \(definition.name): port '\(definition.port)' "
                                                  + "is not a number from 1 to 65535")
                    }
                    address = try SocketAddress.makeAddressResolvingHost(definition.host ?? "", port: port)
                }
                backends[definition.name] = (definition, address)
            } catch let error as BackendAddressError {
                throw error
            } catch {
                throw BackendAddressError(message: "backend \(definition.name): cannot resolve "
                                          + "'\(definition.host ?? definition.path ?? "")': \(error)")
            }
        }
        self.backends = backends
    }
}

public struct BackendAddressError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
