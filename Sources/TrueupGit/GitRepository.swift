import CLibGit2
import TrueupCore

/// An open git repository (with a working tree or bare).
///
/// Not thread-safe: use a repository, and every snapshot made from it, from one task at a time.
public final class GitRepository {
    let handle: OpaquePointer
    /// The `.git` folder (or the bare repository folder), without a trailing `/`.
    public let gitDirectory: String
    /// The working tree, without a trailing `/`; nil for a bare repository.
    public let workdir: String?

    init(owning handle: OpaquePointer) {
        self.handle = handle
        self.gitDirectory = Self.withoutTrailingSlash(copiedString(git_repository_path(handle)) ?? "")
        self.workdir = copiedString(git_repository_workdir(handle)).map(Self.withoutTrailingSlash)
    }

    deinit { git_repository_free(handle) }

    /// Opens the repository at `path`: a working tree, its `.git` folder, or a bare repository.
    public convenience init(path: String) throws {
        try LibGit2.ensureInitialized()
        var repository: OpaquePointer?
        let code = git_repository_open(&repository, path)
        try check(code, "git_repository_open", "open the repository at '\(path)'", hints: [
            .notFound: "'\(path)' is not a git repository: pass the folder of a clone (--repo)",
        ])
        self.init(owning: try taken(repository, "git_repository_open", "open the repository at '\(path)'"))
    }

    /// Opens the repository that encloses `path`, looking upwards like `git` does.
    public convenience init(discoveringFrom path: String) throws {
        try LibGit2.ensureInitialized()
        var found = git_buf()
        defer { git_buf_dispose(&found) }
        let code = git_repository_discover(&found, path, 0, nil)
        try check(code, "git_repository_discover", "find a git repository enclosing '\(path)'", hints: [
            .notFound: "run trueup inside a clone, or pass --repo with the path of one",
        ])
        let gitDirectory = copiedString(found.ptr) ?? path
        try self.init(path: gitDirectory)
    }

    /// The working tree, or the git folder of a bare repository.
    public var root: String { workdir ?? gitDirectory }

    public var isBare: Bool { workdir == nil }

    /// Resolves a branch, tag, full or short sha, `HEAD~2`, `origin/main`, ... to a commit.
    public func resolve(_ revision: String) throws -> RevisionInfo {
        try commit(at: revision).info
    }

    /// The files at `revision`, read from the object database without a checkout.
    public func snapshot(at revision: String) throws -> GitCommitSnapshot {
        try snapshot(at: revision, sharing: CommitFolders())
    }

    /// The same, sharing the folders other snapshots of this commit have read (see `GitCommitOpener`).
    func snapshot(at revision: String, sharing folders: CommitFolders) throws -> GitCommitSnapshot {
        let commit = try commit(at: revision)
        return GitCommitSnapshot(tree: try commit.tree(), revision: commit.info, sharing: folders)
    }

    /// The files on disk in the working tree, as `git add -A` would see them.
    public func worktreeSnapshot() throws -> WorktreeSnapshot {
        try WorktreeSnapshot(repository: self)
    }

    // MARK: - Internal lookups

    func commit(at revision: String) throws(GitError) -> GitCommit {
        let operation = "resolve revision '\(revision)' in \(root)"
        var found: OpaquePointer?
        let code = git_revparse_single(&found, handle, revision)
        // A fresh `git init` has HEAD on a branch without commits: say that, not libgit2's -3.
        if code == GIT_ENOTFOUND.rawValue, git_repository_head_unborn(handle) == 1 {
            throw GitError(kind: .unbornBranch, operation: "read '\(revision)' in \(root)", message: "the repository has no commits yet",
                           hint: "commit first (git add -A && git commit), or use --worktree to read the files on disk")
        }
        try check(code, "git_revparse_single", operation, hints: [
            .notFound: "revision '\(revision)' not found: check the branch, tag or sha"
                + " (remote branches are 'origin/<branch>' and need a fetch first)",
            .ambiguous: "'\(revision)' matches several objects: give more digits of the sha",
            .invalidSpec: "'\(revision)' is not a valid revision: use a branch, tag, sha or e.g. HEAD~1",
        ])
        let object = GitObject(owning: try taken(found, "git_revparse_single", operation), in: self)

        var peeled: OpaquePointer?
        let peelCode = git_object_peel(&peeled, object.handle, GIT_OBJECT_COMMIT)
        let notACommit = "'\(revision)' names a tree or a file, not a commit: use a branch, tag or commit sha"
        try check(peelCode, "git_object_peel", "resolve revision '\(revision)' to a commit", hints: [
            .wrongKind: notACommit, .invalidSpec: notACommit, .other: notACommit,
        ])
        return GitCommit(owning: try taken(peeled, "git_object_peel", operation), in: self)
    }

    func tree(id: git_oid) throws(GitError) -> GitTree {
        var id = id
        var tree: OpaquePointer?
        let code = git_tree_lookup(&tree, handle, &id)
        try check(code, "git_tree_lookup", "read tree \(hexString(&id))", hints: [
            .notFound: "the object database is incomplete: fetch again or re-clone",
        ])
        return GitTree(owning: try taken(tree, "git_tree_lookup", "read tree \(hexString(&id))"), in: self)
    }

    func blob(id: git_oid) throws(GitError) -> GitBlob {
        var id = id
        var blob: OpaquePointer?
        let code = git_blob_lookup(&blob, handle, &id)
        try check(code, "git_blob_lookup", "read blob \(hexString(&id))", hints: [
            .notFound: "the object database is incomplete: fetch again or re-clone",
        ])
        return GitBlob(owning: try taken(blob, "git_blob_lookup", "read blob \(hexString(&id))"), in: self)
    }

    /// The index as it is on disk now.
    func currentIndex() throws(GitError) -> GitIndex {
        var index: OpaquePointer?
        let code = git_repository_index(&index, handle)
        try check(code, "git_repository_index", "open the index of \(root)")
        let owned = GitIndex(owning: try taken(index, "git_repository_index", "open the index of \(root)"), in: self)
        let readCode = git_index_read(owned.handle, 0)
        try check(readCode, "git_index_read", "read the index of \(root)")
        return owned
    }

    /// HEAD's commit, or nil when HEAD is a branch with no commits yet.
    func headCommit() throws(GitError) -> GitCommit? {
        let unborn = git_repository_head_unborn(handle)
        try check(unborn, "git_repository_head_unborn", "read HEAD of \(root)")
        return unborn == 1 ? nil : try commit(at: "HEAD")
    }

    private static func withoutTrailingSlash(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }
}
