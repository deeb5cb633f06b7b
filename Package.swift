// swift-tools-version: 6.1
// trueup: a declarative GitOps reconciler for machine-learning environments.
// Data flow: git (TrueupGit) -> YAML documents (TrueupYAML) -> resources and desired state
// (TrueupCore) -> engine (TrueupEngine) -> command line (trueup).
import PackageDescription

let package = Package(
    name: "trueup",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trueup", targets: ["trueup"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // C boundaries: module.modulemap + shim.h, nothing else.
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CLibGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(name: "CPosixSpawn"),

        // Pure model and logic: documents, schemas, overlays, variables, graph. No I/O.
        .target(
            name: "TrueupCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // libyaml events -> document trees with source marks.
        .target(name: "TrueupYAML", dependencies: ["CLibYAML", "TrueupCore"]),
        // libgit2: open, resolve, read trees and blobs at a commit; the working tree too.
        .target(name: "TrueupGit", dependencies: ["CLibGit2", "TrueupCore"]),
        // SQLite state: migrations, runs, actions, observed state, the local registry and catalog.
        .target(name: "TrueupStore", dependencies: ["TrueupCore", .product(name: "GRDB", package: "GRDB.swift")]),
        // Implementations of the core's backend protocols: Local/ (and later MLflow/, Ray/).
        .target(
            name: "TrueupBackends",
            dependencies: [
                "TrueupCore", "TrueupStore", "CPosixSpawn", .product(name: "Crypto", package: "swift-crypto"),
                // The local backend's tables live in the state database (LocalBackendStore).
                .product(name: "GRDB", package: "GRDB.swift"),
                // Remote backends (Ray, MLflow) and the local health probes speak HTTP through AsyncHTTPClient.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Composition: load specs, observe -> plan -> apply, gates, locking.
        // AsyncHTTPClient reads state from a controller (`diff --server`): SwiftNIO is in the binary
        // for the controller anyway, whereas Foundation's URLSession would load libcurl and some
        // twenty more shared libraries into every command's start-up.
        .target(
            name: "TrueupEngine",
            dependencies: [
                "TrueupCore", "TrueupYAML", "TrueupGit", "TrueupStore", "TrueupBackends",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Webhook notifications are signed with HMAC-SHA256.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The long-running controller: scheduler, git mirror, loop, webhooks, HTTP API, metrics, dashboard.
        .target(
            name: "TrueupController",
            dependencies: [
                "TrueupEngine", "TrueupStore", "TrueupCore", "TrueupGit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The command line: parse, call, render.
        .executableTarget(
            name: "trueup",
            dependencies: [
                "TrueupEngine", "TrueupStore", "TrueupController", "TrueupBackends",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Helpers that several test targets share (a recording HTTP receiver, the MLflow test server); used by tests only.
        .target(name: "TrueupTestSupport", path: "Tests/TrueupTestSupport"),
        .testTarget(name: "TrueupCoreTests", dependencies: ["TrueupCore", "TrueupYAML"]),
        .testTarget(name: "TrueupYAMLTests", dependencies: ["TrueupYAML", "TrueupCore"]),
        .testTarget(name: "TrueupGitTests", dependencies: ["TrueupGit"]),
        .testTarget(name: "TrueupStoreTests", dependencies: ["TrueupStore"]),
        .testTarget(name: "TrueupBackendsTests", dependencies: ["TrueupBackends", "TrueupStore", "TrueupTestSupport"]),
        // Corpus/ holds golden spec repositories read from the source tree (#filePath), not resources.
        .testTarget(name: "TrueupEngineTests", dependencies: ["TrueupEngine", "TrueupCore", "TrueupStore", "TrueupTestSupport"], exclude: ["Corpus"]),
        // `trueup diff` end to end through the built binary (depending on the executable target builds it).
        // Golden/ and Fixtures/ are read from the source tree; the Python files are run by `make test`.
        .testTarget(
            name: "TrueupDiffTests", dependencies: ["trueup", "TrueupCore"],
            exclude: ["Golden", "Fixtures", "test_upsert_comment.py", "validate_report.py"]
        ),
        // The controller: scheduler and webhook units, and the live process against real git remotes.
        .testTarget(
            name: "TrueupControllerTests",
            dependencies: [
                "TrueupController", "trueup", "TrueupStore", "TrueupEngine", "TrueupGit", "TrueupCore", "TrueupTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // End to end: the built `trueup` binary against real git repositories, SQLite files and processes.
        .testTarget(name: "TrueupCLITests", dependencies: ["trueup", "TrueupStore", "TrueupTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
    ]
)
