// ResponseHead: serialises the heads Shellac writes to clients. A hit reuses the stored object's
// pre-serialised block and appends only the per-response fields; streamed and synthetic
// responses are built whole. Framing is always ours: Content-Length, chunked, or close.

import NIOCore
import ShellacCore
import ShellacHTTP
import ShellacStore

enum ResponseFraming {
    case none
    case contentLength(Int)
    case chunked
    case close
}

enum ResponseHead {
    /// The fields after a stored head block: any vcl_deliver added, Age, request id, Cache-Status,
    /// Connection, blank line.
    static func hitTrailer(added: [HTTPField] = [], age: Int, requestID: String, cacheStatus: CacheStatus,
                           keepAlive: Bool, http10KeepAlive: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        let status = cacheStatus.headerValue
        let capacity = added.reduce(0) { $0 + HeadWriter.length(of: $1) } + HeadWriter.maxDecimalLength
            + requestID.utf8.count + status.utf8.count + 64
        var buffer = allocator.buffer(capacity: capacity)
        buffer.writeHead(capacity: capacity) { head in
            for field in added { head.append(field) }
            head.append("Age: ")
            head.append(decimal: age)
            head.append("\r\nX-Varnish: ")
            head.append(requestID)
            head.append("\r\nCache-Status: ")
            head.append(status)
            head.append("\r\n")
            if !keepAlive {
                head.append("Connection: close\r\n")
            } else if http10KeepAlive {
                head.append("Connection: keep-alive\r\n")
            }
            head.append("\r\n")
        }
        return buffer
    }

    /// A 304 for a stored object or fetched head: only the fields RFC 9110 §15.4.5 asks for.
    static func notModified(fields: HTTPFields, age: Int, requestID: String, cacheStatus: CacheStatus,
                            keepAlive: Bool, http10KeepAlive: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var kept = HTTPFields()
        for field in fields {
            let name = field.name.asciiLowercased()
            if ["cache-control", "content-location", "date", "etag", "expires", "vary", "last-modified",
                "via"].contains(name) {
                kept.add(field.name, field.value)
            }
        }
        return full(status: 304, reason: "Not Modified", fields: kept, age: age, requestID: requestID,
                    cacheStatus: cacheStatus, framing: .none, keepAlive: keepAlive,
                    http10KeepAlive: http10KeepAlive, allocator: allocator)
    }

    static func full(status: Int, reason: String, fields: HTTPFields, age: Int?, requestID: String,
                     cacheStatus: CacheStatus?, framing: ResponseFraming, keepAlive: Bool, http10KeepAlive: Bool,
                     allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 512)
        buffer.writeString("HTTP/1.1 \(status) \(reason)\r\n")
        buffer.writeHTTPFields(fields)
        switch framing {
        case .contentLength(let n): buffer.writeString("Content-Length: \(n)\r\n")
        case .chunked: buffer.writeStaticString("Transfer-Encoding: chunked\r\n")
        case .none, .close: break
        }
        if let age { buffer.writeString("Age: \(age)\r\n") }
        buffer.writeString("X-Varnish: \(requestID)\r\n")
        if let cacheStatus { buffer.writeString("Cache-Status: \(cacheStatus.headerValue)\r\n") }
        writeConnection(&buffer, keepAlive: keepAlive, http10KeepAlive: http10KeepAlive)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    private static func writeConnection(_ buffer: inout ByteBuffer, keepAlive: Bool, http10KeepAlive: Bool) {
        if !keepAlive {
            buffer.writeStaticString("Connection: close\r\n")
        } else if http10KeepAlive {
            buffer.writeStaticString("Connection: keep-alive\r\n")
        }
    }
}
