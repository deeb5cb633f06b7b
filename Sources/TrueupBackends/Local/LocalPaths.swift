import Foundation

/// Where the local backend keeps files under the state directory.
public struct LocalPaths: Sendable {
    public let stateDirectory: String

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    func join(_ parts: String...) -> String {
        parts.reduce(stateDirectory) { ($0 as NSString).appendingPathComponent($1) }
    }

    /// Content-addressed dataset files: `data/<sha256>/<file name>`.
    public func dataVersion(_ sha256: String) -> String { join("data", sha256) }
    /// The local artifact store's root (`LocalArtifactStore`).
    public var artifacts: String { join("artifacts") }
    /// Model version files, by the idempotency key that registered them (before the artifact store).
    public func modelVersion(model: String, key: String) -> String { join("registry", "models", model, key) }
    /// One folder per job run identity: code, outputs, log, lock.
    public func jobRun(_ identity: String) -> String { join("runs", identity) }
    /// One folder per deployment instance.
    public func deployment(environment: String, name: String, configHash: String) -> String {
        join("deployments", environment, name, String(configHash.prefix(16)))
    }
    public var locks: String { join("locks") }
    public var logs: String { join("logs") }
}

/// File operations shared by the local backend's parts.
enum LocalFiles {
    /// Copies `source` (a file or folder) to `destination` through a temporary sibling and a rename,
    /// so a crash never leaves a half-copied version where a complete one is expected.
    static func copyAtomically(from source: String, to destination: String) throws {
        try createAtomically(destination) { try FileManager.default.copyItem(atPath: source, toPath: $0) }
    }

    /// Has `write` create `destination`'s content at a temporary sibling, then renames it into
    /// place. The temporary name is unique to the call: content-addressed destinations are
    /// written by several actions of one apply at once (two datasets with the same bytes). When
    /// another writer renamed first, its complete copy is kept and this one removed.
    static func createAtomically(_ destination: String, _ write: (String) throws -> Void) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: destination) { return }
        let parent = (destination as NSString).deletingLastPathComponent
        try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let temporary = destination + ".partial-\(getpid())-\(UUID().uuidString.prefix(8))"
        do {
            try write(temporary)
            try fm.moveItem(atPath: temporary, toPath: destination)
        } catch {
            try? fm.removeItem(atPath: temporary)
            if !fm.fileExists(atPath: destination) { throw error }
        }
    }
}
