// DescriptorLimit: shellacd takes as many file descriptors as it is allowed. Every client and
// backend connection is one, and the soft limit a shell hands down (often 1024) would stop the
// daemon at about a thousand connections long before the machine is busy; the hard limit is what
// the administrator allows. A limit that stays low is said once, at startup.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging

enum DescriptorLimit {
    /// Below this many, the log warns: a few thousand clients would use them up.
    static let comfortable: rlim_t = 4096
    /// Never asked for more than this (an unlimited hard limit cannot be the soft one).
    static let ceiling: rlim_t = 1 << 20

    static func raise(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let before = limit.rlim_cur
        let wanted = min(limit.rlim_max, ceiling)
        if wanted > before {
            limit.rlim_cur = wanted
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
                logger.info("file descriptor limit raised to the hard limit",
                            metadata: ["from": "\(before)", "to": "\(wanted)"])
            } else {
                limit.rlim_cur = before
            }
        }
        if limit.rlim_cur < comfortable {
            logger.warning("""
                few file descriptors: each client and backend connection takes one; raise the limit \
                (ulimit -n, or LimitNOFILE= under systemd)
                """, metadata: ["limit": "\(limit.rlim_cur)"])
        }
    }
}
