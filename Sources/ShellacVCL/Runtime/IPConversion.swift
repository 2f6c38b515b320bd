// IPConversion: std.ip's reading of text as an address, as Varnish reads it: an optional port
// ("1.2.3.4:80", "[::1]:8080", "10.0.0.1 80"), every numeric form the system's getaddrinfo takes
// ("127.1", "0x7f.1", "::ffff:1.2.3.4"), and the address printed as Varnish prints it (IPv6
// compressed and lower-case, an IPv4-mapped one as IPv4). Host names are answered only when the
// hosts file lists them: a DNS query would hold the event loop, with every connection on it,
// while it waits, and std.ip is often handed a client's header (X-Forwarded-For).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ShellacHTTP

enum IPConversion {
    /// The names the hosts file lists, lower-cased (read when a VCL that calls std.ip loads).
    static func hostsFileNames(path: String = "/etc/hosts") -> Set<String> {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var names: Set<String> = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(decoding: UnsafeRawBufferPointer(start: line, count: strlen(line)), as: UTF8.self)
            let content = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            for name in words.dropFirst() { names.insert(name.lowercased()) }
        }
        return names
    }

    /// The address `text` names, printed, and its port; nil when it names none (std.ip then
    /// returns its fallback). `resolve` false takes numeric addresses only; `defaultPort` is used
    /// when the text has none (a port that is not a number or a service name makes it invalid).
    static func address(_ text: String, resolve: Bool, defaultPort: String,
                        hostNames: Set<String>) -> (text: String, port: Int)? {
        guard let (host, port) = split(text) else { return nil }
        let service = port ?? defaultPort
        if let numeric = lookUp(host, service: service, flags: AI_NUMERICHOST | (resolve ? 0 : AI_NUMERICSERV)) {
            return numeric
        }
        guard resolve, hostNames.contains(host.lowercased()) else { return nil }
        return lookUp(host, service: service, flags: 0)
    }

    /// Host and port as Varnish separates them: "[host]" or "[host]:port", "host port", and
    /// "host:port" when the text has one colon only (more are an IPv6 address without a port).
    static func split(_ text: String) -> (host: String, port: String?)? {
        let text = text.trimmingOWSString()
        guard !text.isEmpty else { return nil }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":") else { return nil }
            return (host, rest.count > 1 ? String(rest.dropFirst()) : nil)
        }
        if let space = text.firstIndex(of: " ") {
            return (String(text[..<space]), String(text[text.index(after: space)...]).trimmingOWSString())
        }
        let colons = text.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: ":") ? 1 : 0) }
        if colons == 1, let colon = text.firstIndex(of: ":") {
            let port = text[text.index(after: colon)...]
            return (String(text[..<colon]), port.isEmpty ? nil : String(port))
        }
        return (text, nil)
    }

    /// The address a numeric form getaddrinfo reads names ("127.1", "0x7f.1"), without a lookup.
    static func numericAddress(_ text: String) -> [UInt8]? {
        let found = withAnswers(text, service: nil, flags: AI_NUMERICHOST) { first in
            first.pointee.ai_addr.flatMap { bytesOf($0, family: first.pointee.ai_family) }
        }
        return (try? found.get()) ?? nil
    }

    /// Every address getaddrinfo gives a host name or numeric form (an ACL entry's, when the
    /// VCL loads), IPv4-mapped ones as IPv4, each once in the order given.
    static func addresses(_ host: String) -> Result<[[UInt8]], ACL.LookupFailure> {
        let found = withAnswers(host, service: nil, flags: 0) { list in
            var found: [[UInt8]] = []
            var next: UnsafeMutablePointer<addrinfo>? = list
            while let entry = next {
                if let bytes = entry.pointee.ai_addr.flatMap({ bytesOf($0, family: entry.pointee.ai_family) }),
                   !found.contains(bytes) {
                    found.append(bytes)
                }
                next = entry.pointee.ai_next
            }
            return found
        }
        guard case .success(let all) = found, all.isEmpty else { return found }
        return .failure(ACL.LookupFailure(reason: "no IPv4 or IPv6 address"))
    }

    /// getaddrinfo's first answer, printed numerically (an IPv4-mapped IPv6 address as IPv4),
    /// and its port.
    private static func lookUp(_ host: String, service: String, flags: Int32) -> (text: String, port: Int)? {
        let found = withAnswers(host, service: service, flags: flags) { first -> (text: String, port: Int)? in
            guard let address = first.pointee.ai_addr else { return nil }
            let port = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            if first.pointee.ai_family == AF_INET6, let bytes = bytesOf(address, family: AF_INET6), bytes.count == 4 {
                return (IPAddress.text(bytes), port)  // IPv4-mapped
            }
            var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(address, first.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0,
                              NI_NUMERICHOST) == 0 else { return nil }
            return (String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port)
        }
        return (try? found.get()) ?? nil
    }

    /// getaddrinfo's answers for `host` (and `service`, a port or service name), handed to `body`
    /// while they exist (the first, linked to the rest); the library's reason when there are none.
    private static func withAnswers<T>(_ host: String, service: String?, flags: Int32,
                                       _ body: (UnsafeMutablePointer<addrinfo>) -> T) -> Result<T, ACL.LookupFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = flags
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, service, &hints, &list)
        guard status == 0, let list else { return .failure(ACL.LookupFailure(reason: String(cString: gai_strerror(status)))) }
        defer { freeaddrinfo(list) }
        return .success(body(list))
    }

    /// A socket address's bytes: 4 for IPv4 (an IPv4-mapped IPv6 address too), 16 for IPv6.
    private static func bytesOf(_ address: UnsafeMutablePointer<sockaddr>, family: Int32) -> [UInt8]? {
        switch family {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
            return bytes.starts(with: IPAddress.mappedPrefix) ? Array(bytes[12...]) : bytes
        default:
            return nil
        }
    }
}
