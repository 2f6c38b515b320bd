// Interpreter+Cookie: vmod_cookie's functions, on the request's or fetch's CookieJar.

import ShellacHTTP

extension Interpreter {
    func callCookie<C: VCLContext>(_ function: CookieFunction, _ arguments: [ExpressionIndex], regex: TableIndex?,
                                   _ context: inout C) throws -> VCLValue {
        func text(_ index: Int) throws -> String {
            guard index < arguments.count else { throw Failure(reason: "cookie.\(function.rawValue): missing argument") }
            return try evaluate(arguments[index], &context).string
        }
        func matches(_ name: String) -> Bool {
            guard let regex else { return false }
            return code.unretainedRegexes[regex]._withUnsafeGuaranteedRef { $0.matches(borrowing: name) }
        }
        switch function {
        case .clean: context.cookies = CookieJar()
        case .parse:
            let header = try text(0)
            context.cookies.parse(header)
        case .set:
            let (name, value) = (try text(0), try text(1))
            context.cookies.set(name, value)
        case .delete:
            let name = try text(0)
            context.cookies.delete(name)
        case .filter:
            let list = try text(0)
            context.cookies.remove(all: list)
        case .keep:
            let list = try text(0)
            context.cookies.keep(only: list)
        case .filterRe: context.cookies.remove(where: matches)
        case .keepRe: context.cookies.keep(where: matches)
        case .get:
            let name = try text(0)
            return .string(context.cookies.value(of: name))
        case .getRe: return .string(context.cookies.value(where: matches))
        case .isset:
            let name = try text(0)
            return .bool(context.cookies.value(of: name) != nil)
        case .getString: return .string(context.cookies.header)
        case .formatRFC1123:
            let now = try evaluate(arguments[0], &context).number ?? 0
            let delta = arguments.count > 1 ? try evaluate(arguments[1], &context).number ?? 0 : 0
            return .string(HTTPDate.format(now + delta))
        }
        return .string(nil)
    }
}
