// RegexScratch: what VCL regex matching and substitution work in, one per thread: match data
// with room for the groups a replacement can name (\0 to \9), and a byte buffer regsub and
// regsuball build their result in, kept between substitutions so that one allocates only the
// String it returns. Freed with its thread.

import CPCRE2
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The key of each thread's scratch; the destructor frees it when the thread ends.
private let threadScratchKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { pointer in
        if let pointer { Unmanaged<RegexScratch>.fromOpaque(pointer).release() }
    }
    return key
}()

final class RegexScratch {
    /// Match pairs held: the whole match and groups 1 to 9.
    static let pairs = 10
    /// An ovector entry for a group that took no part in the match (PCRE2_UNSET).
    static let unset = ~0

    let matchData: OpaquePointer
    private var bytes: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes of the result built so far.
    var count = 0

    /// A buffer this size or smaller is kept after a substitution; a larger one (a result near
    /// vcl_value_max) is given back at the next substitution, not held by the thread for good.
    private static let keptCapacity = 16 * 1024

    private init?() {
        guard let matchData = pcre2_match_data_create_8(UInt32(Self.pairs), nil) else { return nil }
        self.matchData = matchData
        capacity = 1024
        bytes = .allocate(capacity: capacity)
    }

    deinit {
        bytes.deallocate()
        pcre2_match_data_free_8(matchData)
    }

    /// This thread's scratch, made on its first use; nil only when PCRE2 has no memory.
    @inline(__always)
    static func forThread() -> RegexScratch? {
        if let existing = pthread_getspecific(threadScratchKey) {
            return Unmanaged<RegexScratch>.fromOpaque(existing).takeUnretainedValue()
        }
        guard let created = RegexScratch() else { return nil }
        pthread_setspecific(threadScratchKey, Unmanaged.passRetained(created).toOpaque())
        return created
    }

    /// The same for a substitution: its buffer back to a small size if the last one grew it.
    static func forSubstitution() -> RegexScratch? {
        let scratch = forThread()
        scratch?.shrinkIfLarge()
        return scratch
    }

    @inline(__always)
    func append(_ byte: UInt8) {
        if count == capacity { grow(toHold: count + 1) }
        bytes[count] = byte
        count += 1
    }

    /// Appends `source[start..<end]`.
    @inline(__always)
    func append(_ source: UnsafeBufferPointer<UInt8>, start: Int, end: Int) {
        let length = end - start
        guard length > 0, let base = source.baseAddress else { return }
        if count + length > capacity { grow(toHold: count + length) }
        (bytes + count).update(from: base + start, count: length)
        count += length
    }

    /// The first `count` bytes as a String (a match can split a multi-byte character; such bytes
    /// are repaired, as String(decoding:) does).
    func string(count: Int) -> String {
        String(unsafeUninitializedCapacity: count) { buffer in
            _ = buffer.initialize(from: UnsafeBufferPointer(start: bytes, count: count))
            return count
        }
    }

    private func grow(toHold needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        larger.update(from: bytes, count: count)
        bytes.deallocate()
        bytes = larger
        capacity = newCapacity
    }

    private func shrinkIfLarge() {
        guard capacity > Self.keptCapacity else { return }
        bytes.deallocate()
        capacity = 1024
        bytes = .allocate(capacity: capacity)
    }
}
