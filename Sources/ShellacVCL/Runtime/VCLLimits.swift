// VCLLimits: how far a VCL may go at run time, set from the daemon's startup parameters before
// any VCL is compiled. Varnish bounds the same things: a request's workspace (64 KiB by default)
// bounds the values VCL builds, and pcre2_match_limit / pcre2_depth_limit bound each regex match.
// A VCL that doubles a header on every restart, a regsuball that multiplies a client's header, or
// a pattern that backtracks without end on a crafted URL then fails the subroutine (503) instead
// of growing without end or holding an event loop.

import Synchronization

public enum VCLLimits {
    private static let configuredValueMax = Atomic<Int>(64 * 1024)
    private static let configuredRegexMatch = Atomic<Int>(10_000)
    private static let configuredRegexDepth = Atomic<Int>(20)

    /// The most bytes one header value, URL, method, reason or regsub result may hold
    /// (vcl_value_max).
    public static var valueMax: Int {
        get { configuredValueMax.load(ordering: .relaxed) }
        set { configuredValueMax.store(newValue, ordering: .relaxed) }
    }

    /// PCRE2's match limit (backtracking steps) for patterns compiled from now on
    /// (pcre2_match_limit).
    public static var regexMatch: Int {
        get { configuredRegexMatch.load(ordering: .relaxed) }
        set { configuredRegexMatch.store(newValue, ordering: .relaxed) }
    }

    /// PCRE2's depth limit for patterns compiled from now on (pcre2_depth_limit).
    public static var regexDepth: Int {
        get { configuredRegexDepth.load(ordering: .relaxed) }
        set { configuredRegexDepth.store(newValue, ordering: .relaxed) }
    }
}
