/// Checks for repository-path fields (`code`, `path`, `templateFile`): relative, inside the
/// repository, present at the revision, and never through a symlink.
public enum RepoPath {
    public enum Expect { case file, directory }

    /// The normalised path, or a message saying what is wrong with it.
    public static func normalise(_ raw: String) -> Result<String, RepoPathProblem> {
        guard !raw.isEmpty else { return .failure(RepoPathProblem(message: "the path is empty")) }
        guard !raw.hasPrefix("/"), !raw.hasPrefix("~") else {
            return .failure(RepoPathProblem(message: "'\(raw)' is absolute: give a path relative to the repository root"))
        }
        if isNormal(raw) { return .success(raw) }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                return .failure(RepoPathProblem(message: "'\(raw)' contains '..': paths must stay inside the repository; give it relative to the repository root"))
            }
            parts.append(part)
        }
        guard !parts.isEmpty else { return .failure(RepoPathProblem(message: "'\(raw)' names the repository root: name a folder or file in it")) }
        return .success(parts.joined(separator: "/"))
    }

    /// Whether `raw` is already in normal form: relative, with no empty, `.` or `..` component.
    /// Nearly every path in a spec is, and one pass over its bytes is cheaper than splitting it
    /// and joining the parts again, which every `code`, `path` and `templateFile` check did.
    public static func isNormal(_ raw: String) -> Bool {
        var componentLength = 0
        var dots = 0
        for byte in raw.utf8 {
            if byte == UInt8(ascii: "/") {
                if componentLength == 0 || componentLength == dots && dots <= 2 { return false }
                componentLength = 0
                dots = 0
            } else {
                componentLength += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        guard componentLength > 0, !(componentLength == dots && dots <= 2) else { return false }
        guard let first = raw.utf8.first, first != UInt8(ascii: "/"), first != UInt8(ascii: "~") else { return false }
        return true
    }

    /// Validates `raw` against the snapshot; returns the entry when it is fine.
    public static func check(_ raw: String, expect: Expect, in snapshot: SourceSnapshot) -> Result<SourceEntry, RepoPathProblem> {
        let path: String
        switch normalise(raw) {
        case .failure(let problem): return .failure(problem)
        case .success(let p): path = p
        }
        // Every prefix must be a real directory: a symlinked folder would lead outside the repository.
        let walk = (try? snapshot.walk(to: path)) ?? PathWalk()
        if let symlink = walk.symlinkOnTheWay {
            return .failure(RepoPathProblem(message: "'\(raw)' goes through the symlink '\(symlink)': symlinks are refused, use the real path"))
        }
        let at = snapshot.revision.commit == "worktree" ? "in the working tree" : "at commit \(snapshot.revision.shortCommit)"
        guard let entry = walk.entry else {
            return .failure(RepoPathProblem(message: "'\(raw)' does not exist \(at): commit it or fix the path"))
        }
        switch (entry.kind, expect) {
        case (.symlink, _):
            return .failure(RepoPathProblem(message: "'\(raw)' is a symlink: symlinks are refused, use the real path"))
        case (.submodule, _):
            return .failure(RepoPathProblem(message: "'\(raw)' is a git submodule, which trueup does not read: vendor the files instead"))
        case (.directory, .file):
            return .failure(RepoPathProblem(message: "'\(raw)' is a folder \(at), not a file: name a file"))
        case (.file, .directory):
            return .failure(RepoPathProblem(message: "'\(raw)' is a file \(at), not a folder: name the folder holding the code"))
        default:
            return .success(entry)
        }
    }
}

public struct RepoPathProblem: Error, Sendable {
    public var message: String
}
