// VCLCompiler: a VCL file as the daemon loads it: includes resolved relative to the including
// file, the builtin VCL appended, then parsed and checked as one program. Reading files is the
// caller's (a closure), so this stays free of I/O.

public struct VCLCompilation: Sendable {
    /// Every file read, in the order their ids were given (the builtin last).
    public var files: [SourceFile]
    /// The user's declarations with includes expanded, followed by the builtin VCL's.
    public var source: VCLSource
    public var diagnostics: [Diagnostic]

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Every diagnostic, rendered with its file, line, caret and hint.
    public var renderedDiagnostics: String {
        diagnostics.map { $0.rendered(in: files) }.joined(separator: "\n\n")
    }
}

public enum VCLCompiler {
    /// - Parameters:
    ///   - path: the main file, as given by the user.
    ///   - read: the text of a file, or nil when it cannot be read.
    public static func compile(path: String, read: @escaping (String) -> String?) -> VCLCompilation {
        var loader = Loader(read: read)
        guard let text = read(path) else {
            let file = SourceFile(name: path, text: "")
            return VCLCompilation(files: [file], source: VCLSource(version: nil, declarations: []),
                                  diagnostics: [Diagnostic(.error, "cannot read the VCL file", at: SourceRange(0, 0))])
        }
        let declarations = loader.load(path: path, text: text, isMain: true)
        let builtinID = loader.files.count
        let builtinFile = SourceFile(name: BuiltinVCL.name, text: BuiltinVCL.text)
        loader.files.append(builtinFile)
        let (builtin, builtinDiagnostics) = Parser.parse(builtinFile, fileID: builtinID)
        let source = VCLSource(version: loader.version, declarations: declarations + builtin.declarations)
        let diagnostics = loader.diagnostics + builtinDiagnostics + Checker.check(source)
        return VCLCompilation(files: loader.files, source: source, diagnostics: diagnostics)
    }

    private struct Loader {
        let read: (String) -> String?
        var files: [SourceFile] = []
        var diagnostics: [Diagnostic] = []
        var version: Name?
        var stack: [String] = []

        init(read: @escaping (String) -> String?) {
            self.read = read
        }

        mutating func load(path: String, text: String, isMain: Bool) -> [Declaration] {
            let fileID = files.count
            let file = SourceFile(name: path, text: text)
            files.append(file)
            let (source, syntax) = Parser.parse(file, fileID: fileID)
            diagnostics += syntax
            if isMain {
                version = source.version
                if source.version == nil {
                    diagnostics.append(Diagnostic(.error, "the VCL file must start with its version",
                                                  at: SourceRange(0, 0, file: fileID), hint: "begin with `vcl 4.1;`"))
                }
            }
            stack.append(path)
            defer { stack.removeLast() }
            var declarations: [Declaration] = []
            for declaration in source.declarations {
                guard case .include(let included, let range) = declaration else {
                    declarations.append(declaration)
                    continue
                }
                let resolved = Self.resolve(included, relativeTo: path)
                if stack.contains(resolved) {
                    let chain = (stack + [resolved]).joined(separator: " → ")
                    diagnostics.append(Diagnostic(.error, "'\(included)' includes itself", at: range,
                                                  hint: "include chain: \(chain)"))
                } else if stack.count >= 10 {
                    diagnostics.append(Diagnostic(.error, "includes nested more than 10 deep", at: range))
                } else if let text = read(resolved) {
                    declarations += load(path: resolved, text: text, isMain: false)
                } else {
                    diagnostics.append(Diagnostic(.error, "cannot read included file '\(resolved)'", at: range))
                }
            }
            return declarations
        }

        /// A relative include is relative to the directory of the file that includes it.
        static func resolve(_ path: String, relativeTo including: String) -> String {
            guard !path.hasPrefix("/"), let slash = including.lastIndex(of: "/") else { return path }
            return String(including[...slash]) + path
        }
    }
}
