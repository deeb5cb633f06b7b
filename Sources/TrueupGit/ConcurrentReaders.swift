import CLibGit2
import TrueupCore

/// Blobs of a commit read on any thread: each thread opens the repository for itself, because
/// libgit2 objects may be used by one thread at a time only. Blobs are looked up by the id the
/// listing gave, skipping the walk from the root tree that `contents(of:)` does for a path.
struct GitBlobContents: ConcurrentContents {
    let gitDirectory: String
    let revision: String

    func makeReader() throws -> any EntryContentsReader {
        GitBlobReader(repository: try GitRepository(path: gitDirectory), revision: revision)
    }
}

final class GitBlobReader: EntryContentsReader {
    private let repository: GitRepository
    private let revision: String

    init(repository: GitRepository, revision: String) {
        self.repository = repository
        self.revision = revision
    }

    func contents(of entry: SourceEntry) throws -> [UInt8] {
        guard entry.kind == .file else {
            throw GitError(
                kind: .wrongKind, operation: "read '\(entry.path)' at \(revision)",
                message: "it is a \(entry.kind.rawValue), not a file",
                hint: "trueup reads only regular files and never follows symlinks or enters submodules"
            )
        }
        var oid = git_oid()
        let code = git_oid_fromstr(&oid, entry.objectID)
        try check(code, "git_oid_fromstr", "read '\(entry.path)' at \(revision): '\(entry.objectID)' is not an object id")
        return try repository.blob(id: oid).bytes
    }
}

extension GitCommitSnapshot {
    public var concurrentContents: (any ConcurrentContents)? {
        GitBlobContents(gitDirectory: root.repository.gitDirectory, revision: revision.shortCommit)
    }
}

/// Files of the working tree read on any thread. The entries come from the snapshot's listing,
/// which already refused symlinks, ignored files and submodules; the read itself refuses to follow
/// a symlink put in place since.
struct WorktreeFileContents: ConcurrentContents {
    let root: String

    func makeReader() throws -> any EntryContentsReader { WorktreeFileReader(root: root) }
}

struct WorktreeFileReader: EntryContentsReader {
    let root: String

    func contents(of entry: SourceEntry) throws -> [UInt8] {
        guard entry.kind == .file else {
            throw GitError(
                kind: .wrongKind, operation: "read '\(entry.path)' in the working tree",
                message: "it is a \(entry.kind.rawValue), not a file",
                hint: "trueup reads only regular files and never follows symlinks or enters submodules"
            )
        }
        return try DiskFiles.contents(at: root + "/" + entry.path)
    }
}

extension WorktreeSnapshot {
    public var concurrentContents: (any ConcurrentContents)? { WorktreeFileContents(root: root) }
}
