// VCLRegex: a VCL regular expression compiled once with the system PCRE2 library (the engine and
// syntax Varnish uses, JIT-compiled where available). Immutable after compiling; a match or a
// substitution works in its thread's RegexScratch (match data, and a buffer for results), so
// one compiled regex serves every event loop without a lock.

import CPCRE2
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class VCLRegex: @unchecked Sendable {
    /// Why a pattern did not compile, and where in it (a byte offset into the pattern).
    public struct CompileError: Error, Equatable, Sendable {
        public let message: String
        public let offset: Int
    }

    /// A match PCRE2 gave up on (its match or depth limit reached, or its JIT stack full): in
    /// VCL it fails the subroutine, as in Varnish ("Regexp matching returned -47").
    public struct MatchFailure: Error, Equatable, Sendable {
        public let code: Int32
        public var message: String { "Regexp matching returned \(code)" }
    }

    /// Why regsub or regsuball stopped: a match PCRE2 gave up on, or a result past the limit.
    public enum SubstitutionError: Error, Equatable, Sendable {
        case gaveUp(MatchFailure)
        case tooLong(limit: Int)

        public var message: String {
            switch self {
            case .gaveUp(let failure): failure.message
            case .tooLong(let limit): "regsub result longer than vcl_value_max (\(limit) bytes)"
            }
        }
    }

    public let pattern: String
    private let code: OpaquePointer
    /// Whether the pattern was JIT-compiled: a match then calls the compiled code directly
    /// (pcre2_jit_match skips the checks pcre2_match makes on every call).
    private let jitted: Bool
    /// Bytes every match contains: PCRE2's fixed first and last literal code units, when it found
    /// them and they are not letters (a caseless pattern matches a letter in either case); -1 for
    /// none. A subject without one cannot match, which memchr finds before PCRE2 is called: a
    /// call costs about 250 instructions even when PCRE2 then rejects the subject at once
    /// (`\.(css|js)$` on a URL with no dot).
    private let requiredFirst: Int32
    private let requiredLast: Int32
    /// `checksRequiredBytes` false: every match goes to PCRE2 (tests hold the check to it).
    public init(_ pattern: String, checksRequiredBytes: Bool = true) throws(CompileError) {
        self.pattern = pattern
        var errorCode: Int32 = 0
        var errorOffset = 0
        // VCLLimits' regex limits go into the compiled pattern as its leading options: passed in a
        // match context instead, every match paid about forty instructions to read it.
        let prefix = Array("(*LIMIT_MATCH=\(VCLLimits.regexMatch))(*LIMIT_DEPTH=\(VCLLimits.regexDepth))".utf8)
        let bytes = prefix + Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { buffer in
            pcre2_compile_8(buffer.baseAddress, buffer.count, 0, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw CompileError(message: Self.message(for: errorCode), offset: max(0, errorOffset - prefix.count))
        }
        code = compiled
        jitted = pcre2_jit_compile_8(compiled, PCRE2_JIT_COMPLETE) == 0  // else the interpreter matches
        requiredFirst = checksRequiredBytes
            ? Self.requiredByte(compiled, type: PCRE2_INFO_FIRSTCODETYPE, unit: PCRE2_INFO_FIRSTCODEUNIT) : -1
        requiredLast = checksRequiredBytes
            ? Self.requiredByte(compiled, type: PCRE2_INFO_LASTCODETYPE, unit: PCRE2_INFO_LASTCODEUNIT) : -1
    }

    /// A literal code unit PCRE2 recorded as part of every match (type 1), unless it is a letter.
    private static func requiredByte(_ code: OpaquePointer, type: Int32, unit: Int32) -> Int32 {
        var kind: UInt32 = 0
        var value: UInt32 = 0
        guard pcre2_pattern_info_8(code, UInt32(type), &kind) == 0, kind == 1,
              pcre2_pattern_info_8(code, UInt32(unit), &value) == 0, value < 128 else { return -1 }
        let byte = UInt8(value)
        let isLetter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
        return isLetter ? -1 : Int32(byte)
    }

    deinit {
        pcre2_code_free_8(code)
    }

    /// Whether the pattern matches anywhere in `subject` (VCL's `~`); a match PCRE2 gave up on
    /// throws. Uses the calling thread's one-pair match data: a yes/no answer needs no groups,
    /// and no lock is taken. Takes the subject: reading the bytes of a String the caller still
    /// holds retained and released it around the match.
    public func test(_ subject: consuming String) throws(MatchFailure) -> Bool {
        try Self.answer(outcome(subject))
    }

    /// PCRE2's answer for `subject` as it is (`answer` reads it), for the interpreter's conditions.
    public func outcome(_ subject: consuming String) -> Int32 {
        // In place for a native String (a copy only for the rare other kind). The closures answer
        // a Bool and leave the code beside it: answering the code itself made the compiler call
        // an outlined copy of the String's byte access, with a retain and a release, per match.
        var rc: Int32 = PCRE2_ERROR_NOMATCH
        let matched = subject.withUTF8 { bytes in
            rc = match(bytes)
            return rc >= 0
        }
        return matched ? 0 : rc
    }

    /// The same for a subject the caller keeps (a variable read where the context holds it).
    public func outcome(borrowing subject: String) -> Int32 {
        var rc: Int32 = PCRE2_ERROR_NOMATCH
        let matched = subject.withUTF8Bytes { bytes in
            rc = match(bytes)
            return rc >= 0
        }
        return matched ? 0 : rc
    }

    /// `test`, with a match PCRE2 gave up on taken as no match (fixed patterns of our own, ban
    /// expressions).
    public func matches(_ subject: consuming String) -> Bool {
        subject.withUTF8 { match($0) } >= 0
    }

    public func matches(borrowing subject: String) -> Bool {
        subject.withUTF8Bytes(match) >= 0
    }

    /// Whether an `outcome` is a match; one PCRE2 gave up on throws.
    @inline(__always)
    public static func answer(_ rc: Int32) throws(MatchFailure) -> Bool {
        if rc >= 0 { return true }
        if rc == PCRE2_ERROR_NOMATCH { return false }
        throw MatchFailure(code: rc)
    }

    /// PCRE2's answer: the number of pairs when it matched, PCRE2_ERROR_NOMATCH, or an error.
    private func match(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        if requiredFirst >= 0 || requiredLast >= 0 {
            // No required byte in it: no match.
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return PCRE2_ERROR_NOMATCH }
            if requiredFirst >= 0, memchr(base, requiredFirst, bytes.count) == nil { return PCRE2_ERROR_NOMATCH }
            if requiredLast >= 0, memchr(base, requiredLast, bytes.count) == nil { return PCRE2_ERROR_NOMATCH }
        }
        guard let matchData = RegexScratch.forThread()?.matchData else { return PCRE2_ERROR_NOMEMORY }
        return jitted ? pcre2_jit_match_8(code, bytes.baseAddress, bytes.count, 0, 0, matchData, nil)
            : pcre2_match_8(code, bytes.baseAddress, bytes.count, 0, 0, matchData, nil)
    }

    /// regsub (first match) and regsuball (every match): `\0`–`\9` in `replacement` insert the
    /// whole match or a group, as in Varnish. The subject is returned unchanged without a match.
    /// As in Varnish, only the first match may be empty: regsuball("abc", "", "-") is "-abc",
    /// regsuball("aaa", "a*", "X") is "X".
    /// A result longer than `longest` bytes stops the substitution as it grows (a regsuball that
    /// multiplies a header would otherwise build its whole result before anything could refuse it).
    /// Matches the subject's and the replacement's own bytes and builds the result in the
    /// thread's scratch buffer, so the result String is the one allocation (a cookie filter runs
    /// four of these on every request that carries cookies).
    public func substitute(in subject: String, with replacement: String, all: Bool,
                           longest: Int = .max) throws(SubstitutionError) -> String {
        guard let scratch = RegexScratch.forSubstitution() else { return subject }
        var subject = subject
        var replacement = replacement
        let outcome = subject.withUTF8 { bytes in
            replacement.withUTF8 { template in
                substitute(bytes, template, all: all, longest: longest, into: scratch)
            }
        }
        switch outcome {
        case .unchanged: return subject
        case .built(let count): return scratch.string(count: count)
        case .failed(let error): throw error
        }
    }

    private enum SubstitutionOutcome {
        case unchanged
        case built(count: Int)
        case failed(SubstitutionError)
    }

    private func substitute(_ bytes: UnsafeBufferPointer<UInt8>, _ template: UnsafeBufferPointer<UInt8>, all: Bool,
                            longest: Int, into scratch: RegexScratch) -> SubstitutionOutcome {
        let matchData = scratch.matchData
        let ovector = pcre2_get_ovector_pointer_8(matchData)!
        scratch.count = 0
        var offset = 0
        var matched = false
        while offset <= bytes.count {
            let options = matched ? UInt32(PCRE2_NOTEMPTY) : 0
            let rc = jitted ? pcre2_jit_match_8(code, bytes.baseAddress, bytes.count, offset, options, matchData, nil)
                : pcre2_match_8(code, bytes.baseAddress, bytes.count, offset, options, matchData, nil)
            if rc == PCRE2_ERROR_NOMATCH { break }
            guard rc >= 0 else { return .failed(.gaveUp(MatchFailure(code: rc))) }
            // 0: more groups than the match data holds; those it holds (\0 to \9) are set.
            let pairs = rc == 0 ? RegexScratch.pairs : Int(rc)
            matched = true
            let start = ovector[0]
            let end = ovector[1]
            scratch.append(bytes, start: offset, end: start)
            var index = 0
            while index < template.count {
                let byte = template[index]
                if byte == UInt8(ascii: "\\"), index + 1 < template.count {
                    let next = template[index + 1]
                    if next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") {
                        let group = Int(next - UInt8(ascii: "0"))
                        if group < pairs {
                            let groupStart = ovector[2 * group]
                            let groupEnd = ovector[2 * group + 1]
                            if groupStart != RegexScratch.unset, groupEnd >= groupStart, groupEnd <= bytes.count {
                                scratch.append(bytes, start: groupStart, end: groupEnd)
                            }
                        }
                        index += 2
                        continue
                    }
                }
                scratch.append(byte)
                index += 1
            }
            offset = end  // the next match is not empty, so the loop moves on
            guard scratch.count <= longest else { return .failed(.tooLong(limit: longest)) }
            if !all { break }
        }
        guard matched else { return .unchanged }
        if offset < bytes.count { scratch.append(bytes, start: offset, end: bytes.count) }
        guard scratch.count <= longest else { return .failed(.tooLong(limit: longest)) }
        return .built(count: scratch.count)
    }

    private static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return length > 0 ? String(decoding: buffer[0..<Int(length)], as: UTF8.self) : "error \(code)"
    }
}
