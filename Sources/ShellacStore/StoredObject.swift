// StoredObject: one cached response variant. Immutable once built and shared by every reader:
// the pre-serialised status line and header block and the body live in one buffer. A hit copies
// the head block in front of its per-response fields and writes the body as it is, never copied.
// Only the hit counter, ban check and soft purge change (atomically).

#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import ShellacHTTP
import Synchronization

public final class StoredObject: Sendable {
    // One per cached object, so its size counts: the fields are ordered widest first so that
    // nothing is padded, and the whole object is one 144-byte allocation.

    /// The head block, then the body, then the key's bytes: one exactly-sized buffer (a slice of a
    /// shared chunk for a small object, see ObjectSlab).
    private let storage: ByteBuffer
    /// The key's digest; its bytes end the storage.
    let digest: UInt64
    /// One bit per stored field name (see `HTTPField.nameBit`): most names asked for are absent, and this
    /// answers "not here" without scanning the head.
    private let fieldNameBits: UInt64
    /// What few objects have (Vary, tags, stale-if-error), held apart so the rest do not pay for it.
    private let extras: Extras?
    /// When the response arrived (seconds since the epoch).
    public let storedAt: Double
    private let hitCount = Atomic<Int>(0)
    /// Its place in its store shard's LRU list. Changed only under that shard's lock (see LRUList).
    nonisolated(unsafe) var newer: StoredObject?
    nonisolated(unsafe) var older: StoredObject?
    /// Bytes of the status line and stored field lines, then of the body: 32 bits each, as a
    /// ByteBuffer's own indices are (the whole object is one buffer).
    private let headLength: UInt32
    private let storedBodyLength: UInt32
    /// Durations and moments after `storedAt`, in 32 bits: to well under a millisecond for a day,
    /// a second for a year.
    private let storedInitialAge: Float
    private let storedTTL: Float
    private let storedGrace: Float
    private let storedKeep: Float
    /// When it was last inserted or hit, after `storedAt` (under the shard's lock, as the links).
    nonisolated(unsafe) private var lastUsedOffset: Float = 0
    /// When a soft purge made it stale, after `storedAt` (bit pattern of a Float; 0: never).
    private let softPurgedOffset = Atomic<UInt32>(0)
    /// The newest ban it has been checked against (see CacheStore), held at UInt32.max past that:
    /// then it is checked again each time, never skipped.
    private let bansCheckedID = Atomic<UInt32>(0)
    private let storedStatus: UInt16
    /// The reason phrase is the standard one for the status, so it need not be read from the head.
    private let hasStandardReason: Bool
    /// Whether the body is gzip (Content-Encoding): a client that does not take gzip gets it
    /// decompressed (http_gzip_support). Kept beside the status, in what was padding: every hit asks.
    public let isGzip: Bool

    private final class Extras: Sendable {
        let varyNames: [String]
        let varyValues: [String?]
        let tags: [String]
        let staleIfError: Double

        init(varyNames: [String], varyValues: [String?], tags: [String], staleIfError: Double) {
            self.varyNames = varyNames
            self.varyValues = varyValues
            self.tags = tags
            self.staleIfError = staleIfError
        }
    }

    public var status: Int { Int(storedStatus) }
    public var bodyLength: Int { Int(storedBodyLength) }
    /// The Content-Length a response with this object carries (RFC 9110 §8.6: none on 204 and 304).
    public var contentLength: Int? { storedStatus != 204 && storedStatus != 304 ? bodyLength : nil }
    /// Lower-cased names from the response's Vary, and the request values this variant matches.
    public var varyNames: [String] { extras?.varyNames ?? [] }
    public var varyValues: [String?] { extras?.varyValues ?? [] }
    /// Tags (surrogate keys) it was stored with, for purging by tag.
    public var tags: [String] { extras?.tags ?? [] }
    /// How old the response was when it arrived.
    public var initialAge: Double { Double(storedInitialAge) }
    /// The TTL the object was stored with (a soft purge ends its freshness earlier: `expiresAt`).
    public var ttl: Double { Double(storedTTL) }
    public var grace: Double { Double(storedGrace) }
    public var keep: Double { Double(storedKeep) }
    /// How long past its TTL the object may stand in for a failed fetch (RFC 5861 stale-if-error).
    public var staleIfError: Double { extras?.staleIfError ?? 0 }
    /// The validators, read from the stored head when asked (conditional and range requests,
    /// revalidation), not kept apart on every object.
    public var etag: String? { field(named: "ETag") }
    public var lastModified: String? { field(named: "Last-Modified") }
    /// Bytes charged against the memory budget: the stored bytes (key included), and a fixed
    /// amount approximating the object and its index entries.
    public var size: Int { storage.readableBytes + 256 }

    /// When it was last inserted or hit (eviction compares shards' least recently used by it).
    var lastUsed: Double {
        get { storedAt + Double(lastUsedOffset) }
        set { lastUsedOffset = Float(newValue - storedAt) }
    }

    /// The newest ban it has been checked against.
    var bansChecked: Int { Int(bansCheckedID.load(ordering: .relaxed)) }

    func markBansChecked(upTo id: Int) {
        bansCheckedID.store(UInt32(clamping: id), ordering: .relaxed)
    }

    /// - Parameters:
    ///   - fields: the response fields to store, hop-by-hop and framing fields already removed.
    ///   - body: the body as received, in pieces; copied once into the object's own buffer.
    public init(key: CacheKey, status: Int, reason: String, fields: HTTPFields, body: [ByteBuffer],
                varyNames: [String], varyValues: [String?], storedAt: Double, initialAge: Double,
                ttl: Double, grace: Double, keep: Double, staleIfError: Double = 0, tags: [String] = []) {
        self.digest = key.digest
        self.storedStatus = UInt16(clamping: status)
        self.hasStandardReason = reason == ReasonPhrase.of(status)
        self.isGzip = GzipCoder.isGzip(fields)
        self.extras = varyNames.isEmpty && varyValues.isEmpty && tags.isEmpty && staleIfError == 0 ? nil
            : Extras(varyNames: varyNames, varyValues: varyValues, tags: tags, staleIfError: staleIfError)
        self.storedAt = storedAt
        self.storedInitialAge = Float(initialAge)
        self.storedTTL = Float(ttl)
        self.storedGrace = Float(grace)
        self.storedKeep = Float(keep)
        self.fieldNameBits = fields.reduce(0) { $0 | $1.nameBit }
        let bodyLength = body.reduce(0) { $0 + $1.readableBytes }
        self.storedBodyLength = UInt32(bodyLength)
        let statusLine = "HTTP/1.1 \(status) \(reason)\r\n"
        let headLength = statusLine.utf8.count
            + fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        // Sized exactly: a 1 KiB object takes about 1.3 KiB of a shared chunk, not 2 KiB of its own.
        self.storage = ObjectSlab.shared.allocate(length: headLength + bodyLength + key.value.utf8.count) { out in
            out.append(statusLine)
            out.append(fields)
            for piece in body { piece.withUnsafeReadableBytes { out.append(bytes: $0) } }
            out.append(key.value)
        }
        self.headLength = UInt32(headLength)
    }

    /// The key it is stored under, read back from its bytes.
    public var key: CacheKey {
        CacheKey(value: withKeyBytes { String(decoding: $0, as: UTF8.self) }, digest: digest)
    }

    /// Whether it is stored under `key` (the digest, then the bytes).
    public func hasKey(_ key: CacheKey) -> Bool {
        guard key.digest == digest else { return false }
        var value = key.value
        return value.withUTF8 { wanted in withKeyBytes { Self.equal($0, UnsafeRawBufferPointer(wanted)) } }
    }

    /// Whether both are stored under the same key.
    func hasSameKey(as other: StoredObject) -> Bool {
        digest == other.digest && withKeyBytes { mine in other.withKeyBytes { Self.equal(mine, $0) } }
    }

    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard let first = a.baseAddress, let second = b.baseAddress else { return true }
        return memcmp(first, second, a.count) == 0
    }

    private func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeReadableBytes { raw in
            body(UnsafeRawBufferPointer(rebasing: raw[(Int(headLength) + bodyLength)...]))
        }
    }

    /// The reason phrase of its status line.
    public var reason: String {
        if hasStandardReason { return ReasonPhrase.of(status) }
        return storage.withUnsafeReadableBytes { raw in
            // "HTTP/1.1 200 " is 13 bytes; the line ends in CRLF.
            let lineEnd = (raw[0..<Int(headLength)].firstIndex(of: 13) ?? 13)
            return String(decoding: UnsafeRawBufferPointer(rebasing: raw[min(13, lineEnd)..<lineEnd]), as: UTF8.self)
        }
    }

    /// "HTTP/1.1 200 OK\r\n" and every stored field line, each ending in CRLF; Content-Length,
    /// the per-response fields (Age, request id, Cache-Status, Connection) and the blank line follow.
    public var headBlock: ByteBuffer { storage.getSlice(at: storage.readerIndex, length: Int(headLength))! }

    public var body: ByteBuffer {
        storage.getSlice(at: storage.readerIndex + Int(headLength), length: bodyLength)!
    }

    /// The stored response fields, read back from the head block (304s, ranges and revalidation
    /// need them; hits do not).
    public var fields: HTTPFields { fields(skipping: FieldLines()) }

    /// The same without the lines `skipped` (the fields vcl_deliver unset).
    public func fields(skipping skipped: FieldLines) -> HTTPFields {
        var fields = HTTPFields()
        forEachStoredField { line, name, value in
            if !skipped.contains(line: line) {
                fields.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
            }
            return true
        }
        return fields
    }

    /// Whether the stored head has a field `name`, given the name's `HTTPField.nameBit`, other
    /// than on the lines `skipped`.
    public func hasField(named name: String, nameBit: UInt64, skipping skipped: FieldLines = FieldLines()) -> Bool {
        field(named: name, nameBit: nameBit, skipping: skipped) != nil
    }

    /// The first value of the stored field `name` (case-insensitive), read from the head bytes
    /// without parsing the whole head (vcl_deliver reading or setting a header on a hit).
    public func field(named name: String) -> String? {
        field(named: name, nameBit: HTTPField.nameBit(name))
    }

    /// The same, given the name's `HTTPField.nameBit`, passing over the lines `skipped`.
    public func field(named name: String, nameBit: UInt64, skipping skipped: FieldLines = FieldLines()) -> String? {
        guard fieldNameBits & nameBit != 0 else { return nil }
        var found: String?
        forEachLine(named: name) { line, value in
            guard !skipped.contains(line: line) else { return true }
            found = String(decoding: value, as: UTF8.self)
            return false
        }
        return found
    }

    /// The field lines named `name`, or nil when one is past the 64th (a head that long is
    /// rebuilt rather than edited line by line).
    public func fieldLines(named name: String, nameBit: UInt64) -> FieldLines? {
        guard fieldNameBits & nameBit != 0 else { return FieldLines() }
        var lines: UInt64? = 0
        forEachLine(named: name) { line, _ in
            guard line < 64, let found = lines else {
                lines = nil
                return false
            }
            lines = found | 1 << UInt64(line)
            return true
        }
        return lines.map(FieldLines.init(lines:))
    }

    /// Calls `visit` with the place and value of each field line named `name`, until it returns false.
    private func forEachLine(named name: String, _ visit: (Int, UnsafeRawBufferPointer) -> Bool) {
        var name = name
        name.withUTF8 { needle in
            forEachStoredField { line, fieldName, value in
                guard fieldName.count == needle.count,
                      !zip(fieldName, needle).contains(where: { $0 | 0x20 != $1 | 0x20 }) else { return true }
                return visit(line, value)
            }
        }
    }

    /// Calls `visit` with each stored field line's place (0 for the first after the status line),
    /// name and value bytes, in order, until it returns false.
    private func forEachStoredField(_ visit: (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        storage.withUnsafeReadableBytes { raw in
            HeadLines.forEach(in: UnsafeRawBufferPointer(rebasing: raw[0..<Int(headLength)])) { line in
                guard line.place >= 0, let value = line.value else { return true }
                return visit(line.place, line.name, value)
            }
        }
    }

    /// The moment the object stops being fresh (earlier after a soft purge).
    public var expiresAt: Double {
        let purged = softPurgedOffset.load(ordering: .relaxed)
        return purged == 0 ? storedAt + ttl : min(storedAt + ttl, storedAt + Double(Float(bitPattern: purged)))
    }

    /// Soft purge: stale from `now` on, still kept (and served) for its grace, keep and stale-if-error.
    public func expire(at now: Double) {
        let offset = now - storedAt
        var rounded = Float(offset)
        if Double(rounded) > offset { rounded = rounded.nextDown }  // never later than `now`
        // +0 is "never purged"; -0 says "purged as it was stored" and reads back as 0.
        softPurgedOffset.store((rounded == 0 ? -0.0 : rounded).bitPattern, ordering: .relaxed)
    }
    /// How long past its TTL the object may still be served: grace, or longer on backend errors.
    private var staleWindow: Double { max(0, grace, staleIfError) }

    /// The moment the object may be removed (past ttl, its stale window and keep).
    public var removableAt: Double { storedAt + ttl + staleWindow + max(0, keep) }

    public func isFresh(at now: Double) -> Bool { now < expiresAt }

    /// Whether it may answer in place of a failed fetch: within grace or stale-if-error.
    public func isUsableOnError(at now: Double) -> Bool { now < expiresAt + staleWindow }

    /// Stale but within grace: served as is while one background fetch refreshes it.
    public func isInGrace(at now: Double) -> Bool { now >= expiresAt && now < expiresAt + grace }

    /// Current age in seconds (RFC 9111 §4.2.3 current_age).
    public func age(at now: Double) -> Double { initialAge + max(0, now - storedAt) }

    /// Remaining freshness, negative once stale.
    public func remainingTTL(at now: Double) -> Double { expiresAt - now }

    public var hits: Int { hitCount.load(ordering: .relaxed) }

    public func recordHit() { hitCount.add(1, ordering: .relaxed) }

    /// Counts hits taken before the object was stored (waiters on its fetch).
    func recordHits(_ count: Int) { hitCount.add(count, ordering: .relaxed) }

    /// Whether this variant answers a request with these fields (RFC 9111 §4.1).
    public func matches(_ requestFields: HTTPFields) -> Bool {
        varyNames.isEmpty || Vary.values(for: varyNames, in: requestFields) == varyValues
    }
}
