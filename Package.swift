// swift-tools-version:6.0
// Shellac: a caching reverse proxy for HTTP/1.1. Module layout and import direction follow
// DESIGN: executables → ShellacServer → {ShellacCore, ShellacStore, ShellacHTTP}.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "shellac",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "shellacd", targets: ["shellacd"]),
        .executable(name: "shellacadm", targets: ["shellacadm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
    ],
    targets: [
        // Pure HTTP: strict request parser, header rules, dates, Cache-Control, freshness, Vary, gzip.
        .target(
            name: "ShellacHTTP",
            dependencies: ["CZlib", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // The system zlib, for gzip content coding of bodies (beresp.do_gzip / do_gunzip).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Pure store: objects, variants, LRU, memory budget, busy objects, hit-for-miss markers.
        .target(
            name: "ShellacStore",
            dependencies: [
                "ShellacHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        // The system PCRE2 library for VCL regexes (Varnish-compatible syntax, JIT).
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        // Pure VCL: lexer, parser, checker, diagnostics, regexes, and the program that runs subroutines.
        // Full cross-module optimisation: the interpreter is generic over its context, and callers
        // in other modules must get it specialised (unspecialised, every value is boxed and copied).
        // swift-crypto: SHA-256 for the hash director, which picks backends as Varnish's does.
        .target(name: "ShellacVCL", dependencies: ["CPCRE2", "ShellacHTTP", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: strict + [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]),
        // Pure policy: runtime parameters, core freshness rules, the request flow and the VCL contexts.
        .target(
            name: "ShellacCore",
            dependencies: ["ShellacHTTP", "ShellacStore", "ShellacVCL"],
            swiftSettings: strict
        ),
        // The admin channel's protocol (Varnish CLI framing, authentication, command lines).
        .target(
            name: "ShellacAdmin",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // The I/O layer: listeners, client and backend channels, timers, signals.
        .target(
            name: "ShellacServer",
            dependencies: [
                "ShellacHTTP", "ShellacStore", "ShellacCore", "ShellacVCL", "ShellacAdmin",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "shellacd",
            dependencies: [
                "ShellacServer", "ShellacCore", "ShellacVCL", "ShellacAdmin",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "shellacadm",
            dependencies: [
                "ShellacAdmin",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Microbenchmarks of the pure hit path (Benchmarks/README.md).
        .executableTarget(
            name: "shellac-microbench",
            dependencies: [
                "ShellacCore", "ShellacHTTP", "ShellacStore", "ShellacVCL",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/Micro",
            swiftSettings: strict
        ),
        // The floor under the pass scenario: a SwiftNIO byte relay (Benchmarks/pass-floor.sh).
        .executableTarget(
            name: "shellac-forward-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/ForwardFloor",
            swiftSettings: strict
        ),
        // Test helpers: a scriptable origin on loopback and a raw-socket client.
        .target(
            name: "ShellacTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "ShellacHTTPTests", dependencies: ["ShellacHTTP", "ShellacTestSupport"]),
        .testTarget(name: "ShellacStoreTests", dependencies: ["ShellacStore", "ShellacHTTP", "ShellacTestSupport"]),
        .testTarget(name: "ShellacCoreTests", dependencies: ["ShellacCore", "ShellacHTTP", "ShellacStore", "ShellacVCL"]),
        // The fixtures are read from disk by path, not bundled.
        .testTarget(name: "ShellacVCLTests", dependencies: ["ShellacVCL", "ShellacHTTP"], exclude: ["Fixtures"]),
        .testTarget(name: "ShellacAdminTests", dependencies: ["ShellacAdmin"]),
        .testTarget(
            name: "ShellacServerTests",
            dependencies: [
                "ShellacServer", "ShellacCore", "ShellacVCL", "ShellacAdmin", "ShellacTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
