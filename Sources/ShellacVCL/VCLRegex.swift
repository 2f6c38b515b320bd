// VCLRegex: a VCL regular expression compiled once with the system PCRE2 library (the engine and
// syntax Varnish uses, JIT-compiled where available). Immutable after compiling; matching makes
// its own match data per call, so one compiled regex serves every event loop.

import CPCRE2

public final class VCLRegex: @unchecked Sendable {
    /// Why a pattern did not compile, and where in it (a byte offset into the pattern).
    public struct CompileError: Error, Equatable, Sendable {
        public let message: String
        public let offset: Int
    }

    public let pattern: String
    private let code: OpaquePointer

    public init(_ pattern: String) throws(CompileError) {
        self.pattern = pattern
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { buffer in
            pcre2_compile_8(buffer.baseAddress, buffer.count, 0, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw CompileError(message: Self.message(for: errorCode), offset: errorOffset)
        }
        code = compiled
        _ = pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE)  // falls back to the interpreter when JIT is unavailable
    }

    deinit {
        pcre2_code_free_8(code)
    }

    /// Whether the pattern matches anywhere in `subject` (VCL's `~`).
    public func matches(_ subject: String) -> Bool {
        guard let matchData = pcre2_match_data_create_from_pattern_8(code, nil) else { return false }
        defer { pcre2_match_data_free_8(matchData) }
        var subject = subject
        return subject.withUTF8 { buffer in
            pcre2_match_8(code, buffer.baseAddress, buffer.count, 0, 0, matchData, nil) >= 0
        }
    }

    private static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return length > 0 ? String(decoding: buffer[0..<Int(length)], as: UTF8.self) : "error \(code)"
    }
}
