// HTTPParseError: why a message was rejected, and the status a client should get for it.

public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The status to answer a client with: 400, 413, 414, 431, 501 or 505.
    public var status: Int
    public var message: String

    public init(status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status): \(message)" }

    static func bad(_ message: String) -> HTTPParseError { HTTPParseError(status: 400, message) }
}

/// Size limits applied while parsing; each maps to a runtime parameter.
public struct HTTPParserLimits: Sendable, Equatable {
    /// The whole head (request line + fields + blank line), bytes. Over it: 431.
    public var maxHeadSize: Int
    /// One field line, bytes. Over it: 431.
    public var maxFieldLineSize: Int
    /// Number of field lines. Over it: 431.
    public var maxFieldCount: Int
    /// The request target, bytes. Over it: 414.
    public var maxURLSize: Int
    /// A request body, bytes. Over it: 413.
    public var maxBodySize: Int

    public init(maxHeadSize: Int = 32 * 1024, maxFieldLineSize: Int = 8 * 1024, maxFieldCount: Int = 100,
                maxURLSize: Int = 8 * 1024, maxBodySize: Int = 100 * 1024 * 1024) {
        self.maxHeadSize = maxHeadSize
        self.maxFieldLineSize = maxFieldLineSize
        self.maxFieldCount = maxFieldCount
        self.maxURLSize = maxURLSize
        self.maxBodySize = maxBodySize
    }
}
