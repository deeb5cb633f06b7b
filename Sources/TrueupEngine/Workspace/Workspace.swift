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
    /// Makes each environment's backends from its `spec.backends` (every type this build has).
    public let factory: BackendFactory
    /// Opened with `readOnly`: nothing may be written to the state directory.
    public let isReadOnly: Bool

    /// Opens the repository enclosing `repositoryPath` and the state directory (default `.trueup/` at its root).
    /// With `readOnly`, nothing is created or written: not the state directory, not the database.
    public init(repositoryPath: String, specRoot: String = "environments", stateDirectory: String? = nil, readOnly: Bool = false,
                factory: BackendFactory = .standard) throws {
        self.factory = factory
        isReadOnly = readOnly
        let repository = try GitRepository(discoveringFrom: repositoryPath)
        repositoryRoot = repository.root
        self.specRoot = specRoot
        self.stateDirectory = Self.stateDirectory(stateDirectory, repositoryRoot: repository.root)
        store = readOnly ? try StateStore(readOnlyStateDirectory: self.stateDirectory) : try StateStore(stateDirectory: self.stateDirectory)
    }

    /// A workspace over a state store that is already open, for a repository that may not exist
    /// yet: the controller opens its state first and clones its mirror into it afterwards.
    public init(repositoryRoot: String, specRoot: String, stateDirectory: String, store: StateStore, factory: BackendFactory = .standard) {
        self.factory = factory
        isReadOnly = false
        self.repositoryRoot = repositoryRoot
        self.specRoot = specRoot
        self.stateDirectory = stateDirectory
        self.store = store
    }

    public var paths: LocalPaths { LocalPaths(stateDirectory: stateDirectory) }

    /// The state folder: `given` (relative to the current folder), or `.trueup/` at the root of
    /// the repository.
    public static func stateDirectory(_ given: String?, repositoryRoot: String) -> String {
        let state = given.map { ($0 as NSString).isAbsolutePath ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
            ?? (repositoryRoot as NSString).appendingPathComponent(".trueup")
        return (state as NSString).standardizingPath
    }

    /// The state folder's cache of parsed spec files (see `ParsedSpecCache`); none for a
    /// read-only workspace, which writes nothing.
    public func parsedSpecCache() -> ParsedSpecCache? {
        isReadOnly ? nil : ParsedSpecCache(stateDirectory: stateDirectory)
    }

    /// The backends an environment asks for (`spec.backends`, `spec.artifacts`; local by default), through the factory.
    public func backends(for settings: EnvironmentSettings) throws -> Backends {
        do {
            return try factory.backends(for: settings, stateDirectory: stateDirectory, store: store,
                                        artifactsType: settings.artifacts?.type.rawValue, artifactsPath: settings.artifacts?.path)
        } catch let error as BackendError {
            throw EngineError(error.message)
        }
    }
}

public struct EngineError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// Set when an approved plan was refused because the actual state moved under it: whoever
    /// decided it (the controller) may decide again on what is there now.
    public var actualStateMoved = false
    public init(_ description: String, actualStateMoved: Bool = false) {
        self.description = description
        self.actualStateMoved = actualStateMoved
    }
}
