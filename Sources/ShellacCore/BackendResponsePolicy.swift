// BackendResponsePolicy: what happens to a backend response head, decided purely: the core's
// lifetimes become beresp.ttl/grace/keep, vcl_backend_response runs, and its return (and what
// it set) decides whether the response is stored, marks the key hit-for-miss or hit-for-pass,
// or asks for a retry, an error page or abandoning the fetch.

import ShellacHTTP
import ShellacVCL

public enum BackendResponseVerdict: Sendable, Equatable {
    /// Deliver the (possibly changed) response; store it when `store`, else leave a marker for
    /// `hitForMissTTL` seconds when set: hit-for-pass when `passes` (return(pass(DURATION))).
    case deliver(store: Bool, hitForMissTTL: Double?, passes: Bool = false)
    case retry
    case error(status: Int, reason: String)
    case abandon(String)
}

public enum BackendResponsePolicy {
    /// Runs vcl_backend_response for a response with `status` and `fields` (hop-by-hop fields
    /// already removed). Afterwards `context.response` holds the response as the VCL left it.
    /// - Parameters:
    ///   - pass: a pass fetch (bereq.uncacheable): never stored, no marker.
    public static func evaluate(program: VCLProgram, context: inout BackendVCLContext, status: Int, reason: String,
                                fields: HTTPFields, plan: StoragePlan, pass: Bool,
                                was304: Bool = false) -> BackendResponseVerdict {
        // A pass's response is never kept: as in Varnish, it has no lifetime left (beresp.ttl is
        // minus its age in whole seconds, what its Age field said) and no grace or keep.
        let wholeAge = plan.initialAge.rounded(.down)
        var response = pass
            ? BackendResponseState(status: status, reason: reason, fields: fields,
                                   ttl: wholeAge > 0 ? -wholeAge : 0,  // not -0.0, which prints as "-0.000"
                                   grace: 0, keep: 0, uncacheable: true)
            : BackendResponseState(status: status, reason: reason, fields: fields, ttl: plan.ttl,
                                   grace: plan.grace, keep: plan.keep, uncacheable: false)
        response.was304 = was304
        response.age = plan.initialAge
        response.backendName = context.chosenBackend ?? context.backend
        context.response = response
        // The user's vcl_backend_response, then (unless it returned) the builtin's, done natively.
        switch program.runUserPart(.backendResponse, &context) ?? NativeBuiltin.backendResponse(&context) {
        case .action("deliver", _):
            break
        case .action("pass", let arguments):
            // Hit-for-pass: later requests for the key are passed, for the duration given.
            guard !pass else { return .deliver(store: false, hitForMissTTL: nil) }
            let duration: Double = if case .duration(let d)? = arguments.first { d } else { context.response!.ttl }
            return .deliver(store: false, hitForMissTTL: duration > 0 ? duration : nil, passes: true)
        case .action("retry", _):
            return .retry
        case .action("error", let arguments):
            let (status, reason) = errorResponse(arguments)
            return .error(status: status, reason: reason)
        case .action(let name, _):
            return .abandon("vcl_backend_response returned \(name)")
        case .failed(let why):
            return .abandon("vcl_backend_response failed: \(why)")
        }
        if pass { return .deliver(store: false, hitForMissTTL: nil) }
        // Read in place: taking the response out of the context copied it whole.
        let ttl = context.response!.ttl
        if context.response!.uncacheable { return .deliver(store: false, hitForMissTTL: ttl > 0 ? ttl : nil) }
        // Vary: * never matches a later request; a lifetime of nothing is nothing to keep. The
        // Vary read is the one the VCL left, as Varnish reads it.
        let store = ttl + max(0, context.response!.grace) + max(0, context.response!.keep) > 0
            && Vary.names(context.response!.fields) != nil
        return .deliver(store: store, hitForMissTTL: nil)
    }

    /// What `return (error)` asks for, as Varnish reads it: a bare `error` is a failed fetch (503
    /// "Backend fetch failed"), a status alone brings its standard reason.
    public static func errorResponse(_ arguments: [VCLValue]) -> (status: Int, reason: String) {
        guard case .int(let status)? = arguments.first else { return (503, "Backend fetch failed") }
        return (status, arguments.count > 1 ? arguments[1].string : ReasonPhrase.of(status % 1000))
    }
}
