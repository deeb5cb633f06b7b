import Foundation
import Testing
import TrueupBackends
import TrueupCore
import TrueupStore

/// The local backends against the shared conformance suite. Each check gets a fresh state
/// directory with a real SQLite `StateStore`; every `make()` opens the store again, as a
/// restarted trueup would, so what survives is what the state directory holds.
@Suite("Local backends pass the conformance suite")
struct LocalBackendConformanceTests {
    @Test(arguments: RegistryConformance.Check.allCases)
    func registry(_ check: RegistryConformance.Check) async throws {
        try await LocalState.with { state in
            try await RegistryConformance.run(check, on: RegistrySubject { try LocalRegistry(store: state.openStore(), paths: state.paths) })
        }
    }

    @Test(arguments: JobConformance.Check.allCases)
    func jobs(_ check: JobConformance.Check) async throws {
        try await LocalState.with { state in
            try await JobConformance.run(check, on: JobSubject { try LocalJobs(store: state.openStore(), paths: state.paths) })
        }
    }

    @Test(arguments: ServingConformance.Check.allCases)
    func serving(_ check: ServingConformance.Check) async throws {
        try await LocalState.with { state in
            try await ServingConformance.run(check, on: ServingSubject { try LocalServing(store: state.openStore(), paths: state.paths) })
        }
    }

    @Test(arguments: ArtifactStoreConformance.Check.allCases)
    func artifacts(_ check: ArtifactStoreConformance.Check) async throws {
        try await LocalState.with { state in
            try await ArtifactStoreConformance.run(check, on: ArtifactStoreSubject(
                make: { LocalArtifactStore(paths: state.paths) },
                tamper: { reference in
                    // Behind the store's back: the stored copy's file is changed in place.
                    let folder = try #require(reference.uri.hasPrefix("file://") ? String(reference.uri.dropFirst(7)) : nil)
                    let file = try #require(FileManager.default.enumerator(atPath: folder)?.allObjects.compactMap { $0 as? String }
                        .first { !$0.hasSuffix("/") && FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent($0)) != nil })
                    let path = (folder as NSString).appendingPathComponent(file)
                    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
                    try Data("tampered\n".utf8).write(to: URL(fileURLWithPath: path))
                }))
        }
    }

    @Test(arguments: DataConformance.Check.allCases)
    func data(_ check: DataConformance.Check) async throws {
        try await LocalState.with { state in
            try await DataConformance.run(check, on: DataSubject { try LocalDataCatalog(store: state.openStore(), paths: state.paths) })
        }
    }
}

/// A fresh local state directory for one test, removed afterwards.
struct LocalState: Sendable {
    let folder: ScratchFolder

    var paths: LocalPaths { LocalPaths(stateDirectory: folder.path) }

    /// A new connection to the state database, as another trueup process would open it, with
    /// the local backend's tables in it.
    func openStore() throws -> LocalBackendStore { try LocalBackendStore(store: StateStore(stateDirectory: folder.path)) }

    static func with<T>(_ body: (LocalState) async throws -> T) async throws -> T {
        try await ScratchFolder.with("trueup-local-state") { folder in try await body(LocalState(folder: folder)) }
    }
}

/// What only the local backend can be asked: the window between starting a deployment's process
/// and recording it anywhere.
@Suite("Local serving after a crash")
struct LocalServingCrashTests {
    @Test func aProcessStartedButNeverRecordedIsStoppedByTheNextDeploy() async throws {
        try await LocalState.with { state in
            let serving: @Sendable () throws -> LocalServing = { try LocalServing(store: state.openStore(), paths: state.paths) }
            try await ServingConformance.withStage(ServingSubject { try serving() }) { stage in
                let request = stage.app(version: "v1")
                let first = try await serving().deploy(request)
                // As if trueup had been killed right after the spawn: no store row, no instance file.
                try state.openStore().deleteDeployment(environment: stage.environment, name: stage.name)
                let folder = state.paths.deployment(environment: stage.environment, name: stage.name, configHash: request.configHash)
                try FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent("instance.json"))

                let second = try await serving().deploy(request)
                #expect(second.pid != first.pid)
                let running = stage.startedPIDs().filter { LiveProcess.isRunning($0) }
                #expect(running == [second.pid].compactMap { $0 }, "exactly one instance serves: \(running)")
            }
        }
    }
}
