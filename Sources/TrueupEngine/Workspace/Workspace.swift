import Foundation
import TrueupBackends
import TrueupCore
import TrueupGit
import TrueupStore

/// Where trueup works: the repository, the spec folder, the state directory and its database.
public final class Workspace: Sendable {
    public let repositoryRoot: String
    public let specRoot: String
    public let stateDirectory: String
    public let store: StateStore

    /// Opens the repository enclosing `repositoryPath` and the state directory (default `.trueup/` at its root).
    /// With `readOnly`, nothing is created or written: not the state directory, not the database.
    public init(repositoryPath: String, specRoot: String = "environments", stateDirectory: String? = nil, readOnly: Bool = false) throws {
        let repository = try GitRepository(discoveringFrom: repositoryPath)
        repositoryRoot = repository.root
        self.specRoot = specRoot
        let state = stateDirectory.map { ($0 as NSString).isAbsolutePath ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
            ?? (repository.root as NSString).appendingPathComponent(".trueup")
        self.stateDirectory = (state as NSString).standardizingPath
        store = readOnly ? try StateStore(readOnlyStateDirectory: self.stateDirectory) : try StateStore(stateDirectory: self.stateDirectory)
    }

    /// A workspace over a state store that is already open, for a repository that may not exist
    /// yet: the controller opens its state first and clones its mirror into it afterwards.
    public init(repositoryRoot: String, specRoot: String, stateDirectory: String, store: StateStore) {
        self.repositoryRoot = repositoryRoot
        self.specRoot = specRoot
        self.stateDirectory = stateDirectory
        self.store = store
    }

    public var paths: LocalPaths { LocalPaths(stateDirectory: stateDirectory) }

    /// The backends an environment asks for (`spec.backends`; local by default).
    public func backends(for settings: EnvironmentSettings) throws -> Backends {
        for (role, backend) in [("registry", settings.registry), ("jobs", settings.jobs), ("serving", settings.serving), ("data", settings.data)] where backend.type != .local {
            throw EngineError("environment \(settings.name): the \(backend.type.rawValue) backend for \(role) is not available in this build of trueup: use type: local in spec.backends.\(role)")
        }
        return Backends(
            registry: LocalRegistry(store: store, paths: paths),
            jobs: LocalJobs(store: store, paths: paths),
            serving: LocalServing(store: store, paths: paths),
            data: LocalDataCatalog(store: store, paths: paths))
    }
}

/// The four roles of an environment's backends (DESIGN §7).
public struct Backends: Sendable {
    public var registry: any RegistryBackend
    public var jobs: any JobBackend
    public var serving: any ServingBackend
    public var data: any DataBackend

    public init(registry: any RegistryBackend, jobs: any JobBackend, serving: any ServingBackend, data: any DataBackend) {
        self.registry = registry
        self.jobs = jobs
        self.serving = serving
        self.data = data
    }
}

public struct EngineError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
