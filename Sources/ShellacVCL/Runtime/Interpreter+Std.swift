// Interpreter+Std: the functions of vmod_std, as Varnish 7 defines them (conversions with a
// fallback, string and time helpers, files and the environment, ports, rollback). The text
// processing they share lives in StdLibrary, tested on its own.

import ShellacHTTP

extension Interpreter {
    private func argument<C: VCLContext>(_ function: StdFunction, _ arguments: [ExpressionIndex],
                                         _ context: inout C, _ index: Int) throws -> VCLValue {
        guard index < arguments.count else { throw Failure(reason: "std.\(function.rawValue): missing argument") }
        return try evaluate(arguments[index], &context)
    }

    func callStd<C: VCLContext>(_ function: StdFunction, _ arguments: [ExpressionIndex],
                                _ context: inout C) throws -> VCLValue {
        switch function {
        case .healthy:
            guard case .backend(let name?) = try argument(function, arguments, &context, 0) else { return .bool(false) }
            return .bool(program.isHealthy(name, health: context))
        case .querysort:
            return .string(StdLibrary.querysort(try argument(function, arguments, &context, 0).takeString()))
        case .collect:
            guard case .header(let scope, let nameIndex) = code.expressions[arguments[0]] else { return .string(nil) }
            let name = code.texts[nameIndex]
            let separator = arguments.count > 1 ? try argument(function, arguments, &context, 1).string : ", "
            guard HTTPField.isValidValue(separator) else {
                throw Failure(reason: "Bad header \(name): std.collect's separator holds a control character")
            }
            let values = context.headers(scope, name)
            if values.count > 1 {
                let joined = values.joined(separator: separator)
                try Self.checkLength(joined, of: "header \(name)")
                context.setHeader(scope, name, joined)
            }
            return .string(nil)
        case .tolower:
            return .string(try argument(function, arguments, &context, 0).optionalString?.asciiLowercased())
        case .toupper:
            return .string(try argument(function, arguments, &context, 0).optionalString?.asciiUppercased())
        case .integer:
            if let n = StdLibrary.integer(try argument(function, arguments, &context, 0).string) { return .int(n) }
            return try argument(function, arguments, &context, 1)
        case .real:
            if let x = StdLibrary.real(try argument(function, arguments, &context, 0).string) { return .real(x) }
            return try argument(function, arguments, &context, 1)
        case .duration:
            if let d = StdLibrary.duration(try argument(function, arguments, &context, 0).string) { return .duration(d) }
            return try argument(function, arguments, &context, 1)
        case .ip:
            let text = try argument(function, arguments, &context, 0).string
            let resolve = arguments.count > 2 ? try argument(function, arguments, &context, 2).isTrue : true
            let port = arguments.count > 3 ? try argument(function, arguments, &context, 3).string : "80"
            if let address = IPConversion.address(text, resolve: resolve, defaultPort: port, hostNames: program.hostNames) {
                return .ip(address.text, port: address.port)
            }
            return try argument(function, arguments, &context, 1)
        case .port:
            switch try argument(function, arguments, &context, 0) {
            case .ip(_, let port): return .int(port)
            case let other:  // an address written as a string: its port, 80 unless it names one
                let address = IPConversion.address(other.string, resolve: false, defaultPort: "80", hostNames: [])
                return .int(address?.port ?? 0)
            }
        case .bytes:
            if let bytes = StdLibrary.bytes(try argument(function, arguments, &context, 0).string) { return .bytes(bytes) }
            return try argument(function, arguments, &context, 1)
        case .round:
            return .real((try argument(function, arguments, &context, 0).number ?? 0).rounded())
        case .real2integer, .time2integer:
            if let rounded = StdLibrary.integer(rounding: try argument(function, arguments, &context, 0).number) {
                return .int(rounded)
            }
            return try argument(function, arguments, &context, 1)
        case .real2time:
            if let x = try argument(function, arguments, &context, 0).number, x.isFinite { return .time(x) }
            return try argument(function, arguments, &context, 1)
        case .time2real:
            if let x = try argument(function, arguments, &context, 0).number, x.isFinite { return .real(x) }
            return try argument(function, arguments, &context, 1)
        case .strftime:
            let time = try argument(function, arguments, &context, 0).number ?? 0
            return .string(StdLibrary.strftime(time, format: try argument(function, arguments, &context, 1).string))
        case .fnmatch:
            let pattern = try argument(function, arguments, &context, 0).string
            let subject = try argument(function, arguments, &context, 1).string
            func flag(_ index: Int, _ otherwise: Bool) throws -> Bool {
                index < arguments.count ? try argument(function, arguments, &context, index).isTrue : otherwise
            }
            return .bool(StdLibrary.fnmatch(pattern, subject, pathname: try flag(2, true), noescape: try flag(3, false),
                                            period: try flag(4, false)))
        case .fileread:
            return .string(program.fileContents(try argument(function, arguments, &context, 0).string))
        case .fileExists:
            return .bool(StdLibrary.fileExists(try argument(function, arguments, &context, 0).string))
        case .getenv:
            return .string(StdLibrary.environment(try argument(function, arguments, &context, 0).string))
        case .rollback:
            context.rollback(try argument(function, arguments, &context, 0).string == "bereq" ? .bereq : .req)
            return .string(nil)
        case .time:
            let text = try argument(function, arguments, &context, 0).string
            if let date = HTTPDate.parse(text) { return .time(date) }
            if let seconds = StdLibrary.real(text) { return .time(seconds) }
            return try argument(function, arguments, &context, 1)
        case .log, .syslog:
            let message = try argument(function, arguments, &context, arguments.count - 1).string
            context.log(message)
            return .string(nil)
        case .timestamp:
            context.log("timestamp \(try argument(function, arguments, &context, 0).string): \(context.read(.now).number ?? 0)")
            return .string(nil)
        case .banError:
            return .string(context.banError)
        case .random:
            let low = try argument(function, arguments, &context, 0).number ?? 0
            let high = try argument(function, arguments, &context, 1).number ?? 1
            return .real(StdLibrary.random(low, high))
        case .strstr:
            let haystack = try argument(function, arguments, &context, 0).string
            let needle = try argument(function, arguments, &context, 1).string
            guard let range = haystack.range(of: needle) else { return .string(nil) }
            return .string(String(haystack[range.lowerBound...]))
        }
    }
}

