// VCLLimits: how large a value VCL may put into a message (a header value, a URL, a reason).
// Varnish bounds these by each request's workspace (64 KiB by default): a VCL that doubles a
// header on every restart, or a regsuball that multiplies a client's header, fails there with a
// 503 instead of growing without end. Shellac fails the subroutine the same way past
// `valueMax` (the vcl_value_max parameter, set when the daemon starts).

import Synchronization

public enum VCLLimits {
    private static let configuredValueMax = Atomic<Int>(64 * 1024)

    /// The most bytes one header value, URL or reason set from VCL may hold.
    public static var valueMax: Int {
        get { configuredValueMax.load(ordering: .relaxed) }
        set { configuredValueMax.store(newValue, ordering: .relaxed) }
    }
}
