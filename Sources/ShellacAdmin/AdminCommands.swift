// AdminCommands: every command of the admin channel, with its arguments and a line of help, as
// one table: `help` prints it, the server checks argument counts against it, shellacadm
// completes from it.

public struct AdminCommand: Sendable {
    public let name: String
    public let arguments: String
    public let help: String
    public let minimumArguments: Int
    /// nil: any number (the words are joined, as `ban` takes an expression).
    public let maximumArguments: Int?

    public var usage: String { arguments.isEmpty ? name : "\(name) \(arguments)" }
}

public enum AdminCommands {
    public static let all: [AdminCommand] = [
        .init(name: "help", arguments: "[COMMAND]", help: "List the commands, or explain one.",
              minimumArguments: 0, maximumArguments: 1),
        .init(name: "ping", arguments: "", help: "Check that shellacd answers.", minimumArguments: 0,
              maximumArguments: 0),
        .init(name: "status", arguments: "", help: "Say whether the cache is running.", minimumArguments: 0,
              maximumArguments: 0),
        .init(name: "ban", arguments: "FIELD OPERATOR ARGUMENT [&& …]",
              help: "Invalidate every object matching the expression, e.g. ban req.url ~ ^/news/",
              minimumArguments: 3, maximumArguments: nil),
        .init(name: "ban.list", arguments: "", help: "List the bans still being applied.", minimumArguments: 0,
              maximumArguments: 0),
        .init(name: "purge", arguments: "URL [HOST]",
              help: "Remove every variant of URL (on HOST, or on every host).", minimumArguments: 1,
              maximumArguments: 2),
        .init(name: "purge.soft", arguments: "URL [HOST]",
              help: "Make every variant of URL stale now, kept and served for its grace while it is refetched.",
              minimumArguments: 1, maximumArguments: 2),
        .init(name: "purge.tag", arguments: "TAG…",
              help: "Remove every object tagged with one of the TAGs (its tag header, Surrogate-Key by default).",
              minimumArguments: 1, maximumArguments: nil),
        .init(name: "purge.tag.soft", arguments: "TAG…",
              help: "Make every object tagged with one of the TAGs stale now, kept for its grace.",
              minimumArguments: 1, maximumArguments: nil),
        .init(name: "inspect", arguments: "URL [HOST]",
              help: "Show the stored variants of URL: key, vary, ttl, grace, keep, age, hits, size, tags.",
              minimumArguments: 1, maximumArguments: 2),
        .init(name: "vcl.load", arguments: "NAME FILE", help: "Compile FILE and keep it as NAME (not in use yet).",
              minimumArguments: 2, maximumArguments: 2),
        .init(name: "vcl.use", arguments: "NAME", help: "Use the loaded VCL NAME for new requests.",
              minimumArguments: 1, maximumArguments: 1),
        .init(name: "vcl.list", arguments: "", help: "List the loaded VCLs and which one is active.",
              minimumArguments: 0, maximumArguments: 0),
        .init(name: "vcl.discard", arguments: "NAME", help: "Forget a loaded VCL that is not active.",
              minimumArguments: 1, maximumArguments: 1),
        .init(name: "vcl.show", arguments: "NAME", help: "Print the source of a loaded VCL.", minimumArguments: 1,
              maximumArguments: 1),
        .init(name: "param.show", arguments: "[NAME]", help: "Show every parameter, or one with its meaning.",
              minimumArguments: 0, maximumArguments: 1),
        .init(name: "param.set", arguments: "NAME VALUE", help: "Change a parameter that can change while running.",
              minimumArguments: 2, maximumArguments: 2),
        .init(name: "backend.list", arguments: "", help: "List the backends with their health and probe window.",
              minimumArguments: 0, maximumArguments: 0),
        .init(name: "backend.set_health", arguments: "NAME auto|healthy|sick",
              help: "Force a backend healthy or sick, or leave it to its probe (auto).", minimumArguments: 2,
              maximumArguments: 2),
        .init(name: "stats", arguments: "", help: "Every counter.", minimumArguments: 0, maximumArguments: 0),
    ]

    public static func named(_ name: String) -> AdminCommand? {
        all.first { $0.name == name }
    }

    /// The `help` text: one line per command.
    public static var overview: String {
        let width = all.map(\.usage.count).max() ?? 0
        return all.map { $0.usage.padding(to: width) + "  " + $0.help }.joined(separator: "\n")
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
