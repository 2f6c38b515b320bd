// Fixture files in Fixtures/, one case each: a line ending in `# error: TEXT` or `# warning: TEXT`
// must get a diagnostic of that severity whose message contains TEXT, and no line without one may
// get any. A file without annotations must load cleanly.

import Foundation
import Testing
@testable import ShellacVCL

@Suite struct FixtureTests {
    static let directory = "/" + #filePath.split(separator: "/").dropLast().joined(separator: "/") + "/Fixtures"

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".vcl") }.sorted()
    }

    struct Expectation {
        var line: Int
        var severity: Diagnostic.Severity
        var text: String
    }

    static func expectations(in text: String) -> [Expectation] {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { number, line in
            for severity in [Diagnostic.Severity.error, .warning] {
                let marker = "# \(severity.rawValue): "
                if let range = line.range(of: marker) {
                    return Expectation(line: number + 1, severity: severity, text: String(line[range.upperBound...]))
                }
            }
            return nil
        }
    }

    @Test func thereAreFixtures() {
        #expect(Self.files.count >= 10)
    }

    @Test(arguments: files)
    func fixture(_ name: String) throws {
        let path = Self.directory + "/" + name
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let compilation = VCLCompiler.compile(path: path) { try? String(contentsOfFile: $0, encoding: .utf8) }
        let diagnostics: [Diagnostic]
        switch VCLProgram.load(compilation) {
        case .success: diagnostics = compilation.diagnostics
        case .failure(let error): diagnostics = error.diagnostics
        }
        let expected = Self.expectations(in: text)
        let file = compilation.files[0]
        for expectation in expected {
            let found = diagnostics.contains { diagnostic in
                diagnostic.range.file == 0 && file.lineAndColumn(of: diagnostic.range.start).line == expectation.line
                    && diagnostic.severity == expectation.severity && diagnostic.message.contains(expectation.text)
            }
            let got = diagnostics.map { $0.rendered(in: compilation.files) }
            #expect(found, "\(name):\(expectation.line): expected \(expectation.severity.rawValue) '\(expectation.text)'; got: \(got)")
        }
        for diagnostic in diagnostics {
            let line = diagnostic.range.file == 0 ? file.lineAndColumn(of: diagnostic.range.start).line : -1
            #expect(expected.contains { $0.line == line && $0.severity == diagnostic.severity },
                    "unexpected: \(diagnostic.rendered(in: compilation.files))")
        }
    }
}
