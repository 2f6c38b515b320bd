// ShellacServer+Admin: what the admin commands do — purge, ban, the VCL registry (load, use,
// list, discard, show), parameters, backend health, statistics. Each command checks its
// arguments against the table in ShellacAdmin and says what is wrong with them.

import Foundation
import ShellacAdmin
import ShellacCore
import ShellacStore
import ShellacVCL

/// A VCL loaded with vcl.load (or the one the daemon started with).
struct LoadedVCL: Sendable {
    var name: String
    var program: VCLProgram
    var path: String?
}

extension ShellacServer {
    /// Runs one admin command (its words, the command first).
    public func execute(_ words: [String]) -> CLIResponse {
        guard let name = words.first else { return CLIResponse(.syntax, "empty command") }
        var arguments = Array(words.dropFirst())
        let json = arguments.first == "-j"
        if json { arguments.removeFirst() }
        guard let command = AdminCommands.named(name) else {
            return CLIResponse(.unknown, "Unknown request '\(name)'.\nType 'help' for the commands.")
        }
        if arguments.count < command.minimumArguments {
            return CLIResponse(.tooFew, "Too few arguments: \(command.usage)")
        }
        if let maximum = command.maximumArguments, arguments.count > maximum {
            return CLIResponse(.tooMany, "Too many arguments: \(command.usage)")
        }
        if json && !["backend.list", "vcl.list", "stats", "ban.list", "param.show"].contains(name) {
            return CLIResponse(.parameter, "-j is not supported by \(name)")
        }
        switch name {
        case "help":
            guard let topic = arguments.first else { return CLIResponse(.ok, AdminCommands.overview) }
            guard let described = AdminCommands.named(topic) else {
                return CLIResponse(.unknown, "Unknown command '\(topic)'")
            }
            return CLIResponse(.ok, "\(described.usage)\n    \(described.help)")
        case "ping":
            return CLIResponse(.ok, "PONG \(Int(Date().timeIntervalSince1970)) 1.0")
        case "status":
            return CLIResponse(.ok, "Child in state running")
        case "ban":
            return ban(arguments.joined(separator: " "))
        case "ban.list":
            return banList(json: json)
        case "purge":
            return purge(url: arguments[0], host: arguments.count > 1 ? arguments[1] : nil)
        case "purge.soft":
            return softPurge(url: arguments[0], host: arguments.count > 1 ? arguments[1] : nil)
        case "purge.tag", "purge.tag.soft":
            let count = store.purge(tags: arguments, soft: name == "purge.tag.soft", now: configuration.clock())
            counters.increment(.purges)
            return CLIResponse(.ok, "\(name == "purge.tag" ? "Purged" : "Soft-purged") \(count) object\(count == 1 ? "" : "s")")
        case "inspect":
            return inspect(url: arguments[0], host: arguments.count > 1 ? arguments[1] : nil)
        case "vcl.load":
            return loadVCL(name: arguments[0], path: arguments[1])
        case "vcl.use":
            return useVCL(arguments[0])
        case "vcl.list":
            return listVCLs(json: json)
        case "vcl.discard":
            return discardVCL(arguments[0])
        case "vcl.show":
            return showVCL(arguments[0])
        case "param.show":
            return showParameters(arguments.first, json: json)
        case "param.set":
            return setParameter(arguments[0], arguments[1])
        case "backend.list":
            return listBackends(json: json)
        case "backend.set_health":
            guard let override = HealthOverride(rawValue: arguments[1]) else {
                return CLIResponse(.parameter, "'\(arguments[1])': expected auto, healthy or sick")
            }
            guard activeVCL.program.backends.contains(where: { $0.name == arguments[0] }) else {
                return CLIResponse(.parameter, "No backend named '\(arguments[0])' in the active VCL")
            }
            setBackendHealth(override, backend: arguments[0])
            return CLIResponse(.ok, "")
        case "stats":
            return stats(json: json)
        default:
            return CLIResponse(.unimplemented, "\(name) is not implemented")
        }
    }

    // MARK: purge and ban

    private func ban(_ text: String) -> CLIResponse {
        let expression: BanExpression
        do {
            expression = try BanExpression.parse(text)
        } catch {
            return CLIResponse(.parameter, "Bad ban expression: \(error.message)")
        }
        counters.increment(.bans)
        if expression.needsNoRequest {
            let removed = store.remove { expression.matches($0, url: nil, requestFields: nil) }
            return CLIResponse(.ok, "Banned \(removed) object\(removed == 1 ? "" : "s")")
        }
        let candidates = store.objects
        store.ban(expression, now: configuration.clock())
        return CLIResponse(.ok, "Ban added; it applies to the \(candidates) object\(candidates == 1 ? "" : "s") "
                           + "stored now, each checked when next requested")
    }

    private func banList(json: Bool) -> CLIResponse {
        let bans = store.banList
        if json {
            return CLIResponse(.ok, JSONText.array(bans.map { JSONText.object(["id": .number(Double($0.id)),
                                                                                "time": .number($0.time),
                                                                                "expression": .string($0.text)]) }))
        }
        let lines = bans.map { String(format: "%.6f ", $0.time) + $0.text }
        return CLIResponse(.ok, "Present bans:\n" + lines.joined(separator: "\n"))
    }

    private func purge(url: String, host: String?) -> CLIResponse {
        let removed: Int
        if let host {
            removed = store.invalidate(CacheKey(parts: [url, host.lowercased()]))
        } else {
            removed = store.remove { $0.key.firstPart == url }
        }
        counters.increment(.purges)
        return CLIResponse(.ok, "Purged \(removed) object\(removed == 1 ? "" : "s")")
    }

    private func softPurge(url: String, host: String?) -> CLIResponse {
        let now = configuration.clock()
        var count = 0
        if let host {
            count = store.softPurge(CacheKey(parts: [url, host.lowercased()]), now: now)
        } else {
            for object in store.objects(where: { $0.key.firstPart == url }) {
                object.expire(at: now)
                count += 1
            }
        }
        counters.increment(.purges)
        return CLIResponse(.ok, "Soft-purged \(count) object\(count == 1 ? "" : "s")")
    }

    private func inspect(url: String, host: String?) -> CLIResponse {
        let now = configuration.clock()
        let objects = host.map { store.variants(of: CacheKey(parts: [url, $0.lowercased()])) }
            ?? store.objects(where: { $0.key.firstPart == url })
        guard !objects.isEmpty else { return CLIResponse(.ok, "Nothing stored for \(url)") }
        let text = objects.map { object in
            let vary = zip(object.varyNames, object.varyValues).map { "\($0)=\($1 ?? "-")" }.joined(separator: ", ")
            return """
            key:    \(object.key)
            status: \(object.status) \(object.reason)
            vary:   \(vary.isEmpty ? "-" : vary)
            ttl:    \(String(format: "%.3f", object.remainingTTL(at: now)))  grace: \(object.grace)  keep: \(object.keep)
            age:    \(String(format: "%.3f", object.age(at: now)))  hits: \(object.hits)  size: \(object.size)
            tags:   \(object.tags.isEmpty ? "-" : object.tags.joined(separator: " "))
            """
        }
        return CLIResponse(.ok, text.joined(separator: "\n\n"))
    }

    // MARK: VCL

    private func loadVCL(name: String, path: String) -> CLIResponse {
        if vclRegistry.withLockedValue({ $0.contains { $0.name == name } }) {
            return CLIResponse(.parameter, "A VCL named '\(name)' is already loaded")
        }
        let compilation = VCLCompiler.compile(path: path) { try? String(contentsOfFile: $0, encoding: .utf8) }
        switch VCLProgram.load(compilation) {
        case .success(let program):
            vclRegistry.withLockedValue { $0.append(LoadedVCL(name: name, program: program, path: path)) }
            let text = program.renderedWarnings
            return CLIResponse(.ok, (text.isEmpty ? "" : text + "\n") + "VCL compiled.")
        case .failure(let error):
            return CLIResponse(.parameter, error.rendered + "\nVCL '\(name)' not loaded: the active VCL is unchanged.")
        }
    }

    private func useVCL(_ name: String) -> CLIResponse {
        guard let loaded = vclRegistry.withLockedValue({ $0.first { $0.name == name } }) else {
            return CLIResponse(.parameter, "No VCL named '\(name)' is loaded (vcl.list shows them)")
        }
        do {
            try use(loaded.program, name: name)
        } catch {
            return CLIResponse(.cannot, "\(error)")
        }
        return CLIResponse(.ok, "VCL '\(name)' now active")
    }

    private func listVCLs(json: Bool) -> CLIResponse {
        let active = activeVCL.name
        let loaded = vclRegistry.withLockedValue { $0 }
        if json {
            return CLIResponse(.ok, JSONText.array(loaded.map {
                JSONText.object(["name": .string($0.name), "status": .string($0.name == active ? "active" : "available"),
                                 "path": $0.path.map { .string($0) } ?? .null])
            }))
        }
        let lines = loaded.map { ($0.name == active ? "active   " : "available") + "  " + $0.name }
        return CLIResponse(.ok, lines.joined(separator: "\n"))
    }

    private func discardVCL(_ name: String) -> CLIResponse {
        if name == activeVCL.name { return CLIResponse(.cannot, "VCL '\(name)' is the active VCL") }
        let removed = vclRegistry.withLockedValue { registry -> Bool in
            guard let index = registry.firstIndex(where: { $0.name == name }) else { return false }
            registry.remove(at: index)
            return true
        }
        return removed ? CLIResponse(.ok, "") : CLIResponse(.parameter, "No VCL named '\(name)' is loaded")
    }

    private func showVCL(_ name: String) -> CLIResponse {
        guard let loaded = vclRegistry.withLockedValue({ $0.first { $0.name == name } }) else {
            return CLIResponse(.parameter, "No VCL named '\(name)' is loaded")
        }
        let files = loaded.program.files.filter { $0.name != BuiltinVCL.name }
        let text = files.map { file in
            (files.count > 1 ? "// \(file.name)\n" : "") + String(decoding: file.bytes, as: UTF8.self)
        }.joined(separator: "\n")
        return CLIResponse(.ok, text)
    }

    // MARK: parameters, backends, statistics

    private func showParameters(_ name: String?, json: Bool) -> CLIResponse {
        let parameters = currentParameters
        if let name, Parameters.definition(name) == nil {
            return CLIResponse(.parameter, "Unknown parameter '\(name)' (param.show lists them)")
        }
        if json {
            let shown = Parameters.table.filter { name == nil || $0.name == name }
            return CLIResponse(.ok, JSONText.object(Dictionary(uniqueKeysWithValues: shown.map {
                ($0.name, JSONText.Value.number(parameters[$0.name]))
            })))
        }
        return CLIResponse(.ok, parameters.describe(only: name))
    }

    private func setParameter(_ name: String, _ value: String) -> CLIResponse {
        guard Parameters.definition(name) != nil else {
            return CLIResponse(.parameter, "Unknown parameter '\(name)' (param.show lists them)")
        }
        guard Parameters.changeableWhileRunning.contains(name) else {
            return CLIResponse(.cannot, "'\(name)' is set at startup: restart shellacd with -p \(name)=\(value)")
        }
        do {
            try setParameterValue(name, value)
        } catch {
            return CLIResponse(.parameter, error.description)
        }
        return CLIResponse(.ok, "\(name) = \(currentParameters.formatted(name) ?? value)")
    }

    private func listBackends(json: Bool) -> CLIResponse {
        let backends = backendStatus
        if json {
            return CLIResponse(.ok, JSONText.array(backends.map { backend in
                JSONText.object(["name": .string(backend.name), "healthy": .bool(backend.healthy),
                                 "admin": .string(backend.override.rawValue),
                                 "probe": backend.probeWindow.map { .string($0) } ?? .null,
                                 "consecutive_failures": .number(Double(backend.consecutiveFailures))])
            }))
        }
        var lines = ["Backend name".padded(20) + "Admin".padded(9) + "Probe".padded(12) + "Health"]
        for backend in backends {
            let probe = backend.probeWindow.map { window in
                "\(window.filter { $0 == "H" }.count)/\(window.count) \(window)"
            } ?? "-"
            let health = backend.healthy ? "healthy" : (backend.passivelySick ? "sick (failing)" : "sick")
            lines.append(backend.name.padded(20) + backend.override.rawValue.padded(9) + probe.padded(12) + health)
        }
        return CLIResponse(.ok, lines.joined(separator: "\n"))
    }

    private func stats(json: Bool) -> CLIResponse {
        let all = statistics
        if json {
            return CLIResponse(.ok, JSONText.object(Dictionary(all.map { ($0.0, JSONText.Value.number(Double($0.1))) },
                                                               uniquingKeysWith: { a, _ in a })))
        }
        return CLIResponse(.ok, all.map { $0.0.padded(28) + String($0.1) }.joined(separator: "\n"))
    }
}

extension String {
    fileprivate func padded(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
