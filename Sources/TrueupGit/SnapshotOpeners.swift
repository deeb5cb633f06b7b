import CLibGit2
import TrueupCore

/// Opens the same commit again, in a repository handle of its own: libgit2 objects may be used by
/// one thread at a time, so each thread that loads specs gets its own.
struct GitCommitOpener: SnapshotOpener {
    let gitDirectory: String
    let commit: String
    /// The folders read so far through any snapshot of this commit.
    let folders: CommitFolders

    func open() throws -> any SourceSnapshot {
        try GitRepository(path: gitDirectory).snapshot(at: commit, sharing: folders)
    }
}

extension GitCommitSnapshot {
    public var opener: (any SnapshotOpener)? {
        GitCommitOpener(gitDirectory: root.repository.gitDirectory, commit: revision.commit, folders: folders)
    }

    /// The blob by the id the listing gave, without walking from the root tree as a path does.
    public func contents(of entry: SourceEntry) throws -> [UInt8] {
        var oid = git_oid()
        guard entry.kind == .file, git_oid_fromstr(&oid, entry.objectID) == 0 else { return try contents(of: entry.path) }
        return try root.repository.blob(id: oid).bytes
    }
}

/// Opens the working tree again, with a repository handle (and index) of its own.
struct WorktreeOpener: SnapshotOpener {
    let gitDirectory: String

    func open() throws -> any SourceSnapshot {
        try GitRepository(path: gitDirectory).worktreeSnapshot()
    }
}

extension WorktreeSnapshot {
    public var opener: (any SnapshotOpener)? { WorktreeOpener(gitDirectory: repository.gitDirectory) }
}
