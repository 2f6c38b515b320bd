// The checker enforces the two tables exactly: every return action in every builtin subroutine,
// and every variable's read and write rule in every builtin subroutine.

import Testing
@testable import ShellacVCL

@Suite struct TableTests {
    static let subroutines = Subroutines.builtin.map(\.name)
    static let actions = Set(Subroutines.builtin.flatMap(\.returns)).sorted()

    /// Diagnostics for one statement placed in `sub` of an otherwise clean file.
    func diagnostics(in sub: String, _ statement: String) -> [Diagnostic] {
        let text = "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; }\nsub \(sub) {\n\(statement)\n}\n"
        let file = SourceFile(name: "t.vcl", text: text)
        let (source, syntax) = Parser.parse(file)
        return syntax + Checker.check(source)
    }

    static func returnStatement(_ action: String) -> String {
        switch action {
        case "synth", "error": return "return (\(action)(503, \"x\"));"
        default: return "return (\(action));"
        }
    }

    @Test(arguments: subroutines)
    func everyReturnIsAllowedExactlyWhereTheTableSays(sub: String) {
        let allowed = Subroutines.definition(sub)!.returns
        for action in Self.actions {
            let problems = diagnostics(in: sub, Self.returnStatement(action)).filter { $0.severity == .error }
            if allowed.contains(action) {
                #expect(problems.isEmpty, "return(\(action)) in \(sub): \(problems.map(\.message))")
            } else {
                #expect(problems.contains { $0.message == "return(\(action)) is not allowed in \(sub)" },
                        "return(\(action)) in \(sub): \(problems.map(\.message))")
            }
        }
    }

    static func name(_ definition: Variables.Definition) -> String {
        definition.isFamily ? definition.name + "X-Test" : definition.name
    }

    static func value(for type: VCLType) -> String {
        switch type {
        case .string: return "\"x\""
        case .int: return "1"
        case .real: return "1.5"
        case .duration: return "1s"
        case .time: return "now"
        case .bool: return "true"
        case .backend: return "default"
        case .ip: return "client.ip"
        default: return "\"x\""
        }
    }

    @Test(arguments: subroutines)
    func everyVariableIsReadableExactlyWhereTheTableSays(sub: String) {
        for definition in Variables.table where !definition.readable.isEmpty {
            let name = Self.name(definition)
            let problems = diagnostics(in: sub, "if (\(name)) { }").filter { $0.severity == .error }
            if definition.readable.contains(sub) {
                #expect(problems.isEmpty, "reading \(name) in \(sub): \(problems.map(\.message))")
            } else {
                let messages = problems.map(\.message)
                #expect(messages.contains("'\(name)' is not available in \(sub)"), "reading \(name) in \(sub): \(messages)")
            }
        }
    }

    @Test(arguments: subroutines)
    func everyVariableIsWritableExactlyWhereTheTableSays(sub: String) {
        for definition in Variables.table {
            let name = Self.name(definition)
            let statement = "set \(name) = \(Self.value(for: definition.type));"
            // The value itself must be readable here for the check to be about the write alone.
            if definition.type == .time || definition.type == .ip {
                continue  // no writable TIME or IP variables
            }
            let problems = diagnostics(in: sub, statement).filter { $0.severity == .error }
            if definition.writable.contains(sub) {
                #expect(problems.isEmpty, "\(statement) in \(sub): \(problems.map(\.message))")
            } else if definition.writable.isEmpty {
                let messages = problems.map(\.message)
                #expect(messages.contains("'\(name)' is read-only"), "\(statement) in \(sub): \(messages)")
            } else {
                let messages = problems.map(\.message)
                #expect(messages.contains("'\(name)' cannot be set in \(sub)"), "\(statement) in \(sub): \(messages)")
            }
        }
    }
}
