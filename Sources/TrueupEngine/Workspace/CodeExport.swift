import Foundation
import TrueupCore
import TrueupGit

/// Writes a folder of the repository, as it is at a commit, into a scratch folder: what a job or
/// deployment runs is exactly the commit's code, never the working tree.
public enum CodeExport {
    public static func export(repository: String, commit: String, path: String, to destination: String) throws {
        let snapshot = try GitRepository(path: repository).snapshot(at: commit)
        let fm = FileManager.default
        try fm.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let prefix = path.hasSuffix("/") ? path : path + "/"
        for entry in try snapshot.entries(under: path) {
            let relative = entry.path.hasPrefix(prefix) ? String(entry.path.dropFirst(prefix.count)) : (entry.path as NSString).lastPathComponent
            switch entry.kind {
            case .file:
                let target = (destination as NSString).appendingPathComponent(relative)
                try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let bytes = try snapshot.contents(of: entry.path)
                guard fm.createFile(atPath: target, contents: Data(bytes)) else {
                    throw EngineError("cannot write \(target): check free disk space and permissions of the state directory")
                }
            case .symlink, .submodule:
                throw EngineError("\(entry.path) is a \(entry.kind.rawValue) inside the code folder \(path): trueup refuses them; commit the real files")
            case .directory:
                continue
            }
        }
    }

    /// The bytes of one file at a commit.
    public static func file(repository: String, commit: String, path: String) throws -> [UInt8] {
        try GitRepository(path: repository).snapshot(at: commit).contents(of: path)
    }
}
