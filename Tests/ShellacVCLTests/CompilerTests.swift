// Loading VCL as the daemon will: includes, the builtin appended, checks across files.

import Foundation
import Testing
@testable import ShellacVCL

func compile(_ files: [String: String], main: String = "/etc/shellac/default.vcl") -> VCLCompilation {
    VCLCompiler.compile(path: main) { files[$0] }
}

@Suite struct CompilerTests {
    @Test func theBuiltinShipsAsAFileAndChecksClean() throws {
        let shipped = try String(contentsOfFile: #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
                                 .prependingSlash + "/config/builtin.vcl", encoding: .utf8)
        #expect(shipped == BuiltinVCL.text + "\n", "config/builtin.vcl and the embedded builtin must be the same text")
        let compilation = compile(["/etc/shellac/default.vcl": "vcl 4.1;\nbackend default { .host = \"127.0.0.1\"; }\n"])
        #expect(compilation.diagnostics.isEmpty, "\(compilation.renderedDiagnostics)")
        #expect(compilation.files.map(\.name) == ["/etc/shellac/default.vcl", "<builtin>"])
    }

    @Test func realWorldVCLCompilesWithTheBuiltinAppended() {
        let compilation = compile(["/etc/shellac/default.vcl": realWorld])
        #expect(!compilation.hasErrors, "\(compilation.renderedDiagnostics)")
        // Both definitions of vcl_recv are kept, the user's first.
        let recvBodies = compilation.source.declarations.filter {
            if case .subroutine(let name, _) = $0 { return name.text == "vcl_recv" } else { return false }
        }
        #expect(recvBodies.count == 2)
    }

    @Test func includesResolveRelativeToTheIncludingFile() {
        let compilation = compile([
            "/etc/shellac/default.vcl": "vcl 4.1;\ninclude \"conf.d/backends.vcl\";\nsub vcl_recv { set req.backend_hint = app; }\n",
            "/etc/shellac/conf.d/backends.vcl": "include \"probe.vcl\";\nbackend app { .host = \"127.0.0.1\"; .probe = hz; }\n",
            "/etc/shellac/conf.d/probe.vcl": "probe hz { .url = \"/\"; }\n",
        ])
        #expect(compilation.diagnostics.isEmpty, "\(compilation.renderedDiagnostics)")
    }

    @Test func includeProblemsAndErrorsInIncludedFilesNameTheirFile() {
        let compilation = compile([
            "/v/default.vcl": "vcl 4.1;\ninclude \"a.vcl\";\ninclude \"missing.vcl\";\n",
            "/v/a.vcl": "include \"a.vcl\";\nsub vcl_deliver {\n    set req.xid = \"x\";\n}\n",
        ], main: "/v/default.vcl")
        let rendered = compilation.renderedDiagnostics
        #expect(rendered.contains("/v/a.vcl:1:1: error: 'a.vcl' includes itself"))
        #expect(rendered.contains("/v/default.vcl:3:1: error: cannot read included file '/v/missing.vcl'"))
        #expect(rendered.contains("/v/a.vcl:3:9: error: 'req.xid' is read-only"))
        #expect(compilation.hasErrors)
    }

    @Test func theMainFileNeedsItsVersion() {
        let compilation = compile(["/etc/shellac/default.vcl": "backend default { .host = \"127.0.0.1\"; }\n"])
        #expect(compilation.diagnostics.map(\.message) == ["the VCL file must start with its version"])
    }
}

extension String {
    fileprivate var prependingSlash: String { hasPrefix("/") ? self : "/" + self }
}
