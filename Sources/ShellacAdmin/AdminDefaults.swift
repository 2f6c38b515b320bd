// AdminDefaults: where shellacd and shellacadm meet without flags: the work directory holding the
// admin address (_.admin) and the generated secret (_.secret, mode 0600).

import Foundation

public enum AdminDefaults {
    /// `$TMPDIR/shellac` (or /tmp/shellac): shared by shellacd and shellacadm unless -n says otherwise.
    public static var workDirectory: String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/shellac"
    }
}
