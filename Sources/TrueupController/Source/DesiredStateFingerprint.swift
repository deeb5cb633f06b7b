import Foundation
import TrueupCore

/// What an environment reads from git, reduced to one hash: when it moves, the environment's
/// desired state may have changed and it is reconciled; a commit touching only other folders
/// leaves it alone.
///
/// It covers the tree ids of the environment's own folder and of every folder it extends
/// (transitively), the object ids of the files and folders its resources point at (`code`,
/// `path`, `templateFile`), and the commit itself when a resolved spec contains it
/// (`${git.commit}`, `${git.shortCommit}`).
enum DesiredStateFingerprint {
    static func of(_ environment: DesiredEnvironment, in desired: DesiredState, snapshot: SourceSnapshot, specRoot: String) throws -> String {
        var parts: [String] = []
        for folder in folders(of: environment.name, in: desired) {
            let path = "\(specRoot)/\(folder)"
            parts.append("folder \(path) \(try snapshot.entry(at: path)?.objectID ?? "missing")")
        }
        var referenced = Set<String>()
        var usesCommit = false
        let shortCommit = snapshot.revision.shortCommit
        for resource in environment.resources.values {
            for raw in resource.typed.repositoryPaths {
                if case .success(let path) = RepoPath.normalise(raw) { referenced.insert(path) }
            }
            if !usesCommit && !shortCommit.isEmpty && resource.spec.canonicalJSON.contains(shortCommit) { usesCommit = true }
        }
        for path in referenced.sorted() {
            parts.append("file \(path) \(try snapshot.entry(at: path)?.objectID ?? "missing")")
        }
        if usesCommit { parts.append("commit \(snapshot.revision.commit)") }
        return ContentDigest.sha256(parts.joined(separator: "\n"))
    }

    /// The environment's folder and the folders it extends, each once, nearest first.
    static func folders(of name: String, in desired: DesiredState) -> [String] {
        var result: [String] = []
        var queue = [name]
        while let next = queue.first {
            queue.removeFirst()
            guard !result.contains(next) else { continue }
            result.append(next)
            // A base folder has no settings, so nothing further to follow from it.
            queue += desired.environments[next]?.settings.extends ?? []
        }
        return result
    }
}
