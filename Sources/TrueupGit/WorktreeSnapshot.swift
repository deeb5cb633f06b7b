import CLibGit2
import TrueupCore

/// The files in the working tree on disk (`--worktree`), as `git add -A` would commit them.
///
/// Same semantics as `GitCommitSnapshot`, so the two can be compared entry by entry:
/// - object ids are git ids computed from the content (`git_odb_hash`), so an unchanged file has
///   the same id as in HEAD, and a directory's id is the tree id git would write for it;
/// - symlinks are reported (their id hashes the link target) and never followed, also in the
///   middle of a path;
/// - `.git`, ignored files (`.gitignore`, unless already tracked) and empty directories are absent;
/// - a nested repository or a path the index records as a submodule is a `.submodule`.
///
/// Content is read raw: no CRLF or other filters. Holds the repository and its index, so it is not
/// `Sendable`: use it from one task at a time.
public struct WorktreeSnapshot: SourceSnapshot {
    /// `commit` is "worktree"; author, message and time are HEAD's when HEAD has a commit.
    public let revision: RevisionInfo
    /// The working tree folder, without a trailing `/`.
    public let root: String
    let repository: GitRepository
    private let index: GitIndex

    init(repository: GitRepository) throws(GitError) {
        guard let workdir = repository.workdir else {
            throw GitError(
                kind: .bareRepository, operation: "read the working tree of \(repository.root)",
                message: "the repository is bare and has no working tree",
                hint: "drop --worktree, or point --repo at a clone with a working tree"
            )
        }
        let head = try repository.headCommit()?.info
        self.revision = RevisionInfo(
            commit: "worktree", author: head?.author ?? "", message: head?.message ?? "",
            time: head?.time ?? 0
        )
        self.root = workdir
        self.repository = repository
        self.index = try repository.currentIndex()
    }

    /// Every file, symlink and submodule below `path`, sorted by path; `[]` when nothing is there.
    /// When `path` names a file, symlink or submodule, that one entry.
    public func entries(under path: String) throws -> [SourceEntry] {
        let location = try RepositoryPath(path)
        guard let node = try reachableNode(at: location) else { return [] }
        guard node == .directory else { return [try entry(location, node)] }
        var entries: [SourceEntry] = []
        try collect(location, into: &entries)
        return entries.sortedByPath()
    }

    /// The entry at `path`, or nil when nothing (visible) is there. Never follows a symlink.
    public func entry(at path: String) throws -> SourceEntry? {
        let location = try RepositoryPath(path)
        guard let node = try reachableNode(at: location) else { return nil }
        guard node == .directory else { return try entry(location, node) }
        let tree = try treeID(of: location)
        if tree.isEmpty, !location.isRoot {
            return nil  // git does not record empty directories
        }
        var id = tree.id
        return SourceEntry(path: location.string, kind: .directory, objectID: hexString(&id))
    }

    /// The bytes of the regular file at `path`.
    public func contents(of path: String) throws -> [UInt8] {
        let location = try RepositoryPath(path)
        let operation = "read '\(location.string)' in the working tree"
        guard let node = try reachableNode(at: location) else {
            throw GitError(
                kind: .notFound, operation: operation, message: "no such file in \(root)",
                hint: "check the path (relative to the repository root); ignored files are not read"
            )
        }
        guard case .file = node else {
            throw GitError(
                kind: .wrongKind, operation: operation, message: "it is a \(node.kind.rawValue), not a file",
                hint: "trueup reads only regular files and never follows symlinks or enters submodules"
            )
        }
        return try DiskFiles.contents(at: absolute(location))
    }

    // MARK: - Walking the disk

    private enum Node: Equatable {
        case file(executable: Bool)
        case symlink
        case directory
        case submodule

        var kind: SourceEntry.Kind {
            switch self {
            case .file: .file
            case .symlink: .symlink
            case .directory: .directory
            case .submodule: .submodule
            }
        }
    }

    private func absolute(_ location: RepositoryPath) -> String {
        location.isRoot ? root : root + "/" + location.string
    }

    /// What is at `location`, checking that no parent is a symlink, a submodule or ignored.
    private func reachableNode(at location: RepositoryPath) throws(GitError) -> Node? {
        if location.isRoot { return .directory }
        for ancestor in location.ancestors {
            guard try node(at: ancestor) == .directory else { return nil }
        }
        return try node(at: location)
    }

    /// What git would see at `location`, assuming its parent is a plain visible directory.
    private func node(at location: RepositoryPath) throws(GitError) -> Node? {
        let node: Node
        switch try DiskFiles.node(at: absolute(location)) {
        case nil, .other?: return nil
        case .file(let executable)?: node = .file(executable: executable)
        case .symlink?: node = .symlink
        case .directory?: node = try isSubmodule(location) ? .submodule : .directory
        }
        return try isVisible(location, isDirectory: node == .directory) ? node : nil
    }

    private func isSubmodule(_ location: RepositoryPath) throws(GitError) -> Bool {
        if index.mode(at: location.string) == GIT_FILEMODE_COMMIT.rawValue { return true }
        return try DiskFiles.node(at: absolute(location) + "/.git") != nil
    }

    /// Tracked paths are always visible; untracked ones unless `.gitignore` rules ignore them.
    private func isVisible(_ location: RepositoryPath, isDirectory: Bool) throws(GitError) -> Bool {
        if index.mode(at: location.string) != nil { return true }
        if isDirectory, index.tracksSomething(under: location.string) { return true }
        var ignored: Int32 = 0
        let code = git_ignore_path_is_ignored(&ignored, repository.handle, location.string)
        try check(code, "git_ignore_path_is_ignored", "check .gitignore rules for '\(location.string)'")
        return ignored == 0
    }

    /// The visible children of the directory at `location`, unsorted.
    private func children(of location: RepositoryPath) throws(GitError) -> [(RepositoryPath, Node)] {
        var children: [(RepositoryPath, Node)] = []
        for name in try DiskFiles.names(in: absolute(location)) where name != ".git" {
            let child = location.appending(name)
            if let node = try node(at: child) {
                children.append((child, node))
            }
        }
        return children
    }

    private func collect(_ directory: RepositoryPath, into entries: inout [SourceEntry]) throws(GitError) {
        for (child, node) in try children(of: directory) {
            if node == .directory {
                try collect(child, into: &entries)
            } else {
                entries.append(try entry(child, node))
            }
        }
    }

    // MARK: - Object ids

    private func entry(_ location: RepositoryPath, _ node: Node) throws(GitError) -> SourceEntry {
        var id: git_oid
        switch node {
        case .file: id = try Self.hash(DiskFiles.contents(at: absolute(location)), as: GIT_OBJECT_BLOB)
        case .symlink: id = try Self.hash(DiskFiles.linkTarget(at: absolute(location)), as: GIT_OBJECT_BLOB)
        case .directory: id = try treeID(of: location).id
        case .submodule:
            guard var commit = submoduleCommit(at: location) else {
                return SourceEntry(path: location.string, kind: .submodule, objectID: "")
            }
            return SourceEntry(path: location.string, kind: .submodule, objectID: hexString(&commit))
        }
        return SourceEntry(path: location.string, kind: node.kind, objectID: hexString(&id))
    }

    /// The commit a submodule would be recorded at: its checked-out HEAD, else what the index says.
    /// Best effort: nil when neither is known (e.g. a nested repository with no commits).
    private func submoduleCommit(at location: RepositoryPath) -> git_oid? {
        if let nested = try? GitRepository(path: absolute(location)), let head = try? nested.headCommit() {
            return git_commit_id(head.handle).pointee
        }
        return index.objectID(at: location.string)
    }

    /// The id of the tree git would write for this directory, and whether that tree is empty.
    private func treeID(of directory: RepositoryPath) throws(GitError) -> (id: git_oid, isEmpty: Bool) {
        struct Record {
            var sortKey: [UInt8]
            var header: [UInt8]
            var id: git_oid
        }
        var records: [Record] = []
        for (child, node) in try children(of: directory) {
            let name = Array(child.name.utf8)
            let mode: String
            var id: git_oid
            switch node {
            case .file(let executable):
                mode = executable ? "100755" : "100644"
                id = try Self.hash(DiskFiles.contents(at: absolute(child)), as: GIT_OBJECT_BLOB)
            case .symlink:
                mode = "120000"
                id = try Self.hash(DiskFiles.linkTarget(at: absolute(child)), as: GIT_OBJECT_BLOB)
            case .submodule:
                guard let commit = submoduleCommit(at: child) else { continue }
                mode = "160000"
                id = commit
            case .directory:
                let subtree = try treeID(of: child)
                if subtree.isEmpty { continue }
                mode = "40000"
                id = subtree.id
            }
            // Git sorts a tree entry as if its name ended in "/".
            let sortKey = node == .directory ? name + [UInt8(ascii: "/")] : name
            records.append(Record(sortKey: sortKey, header: Array(mode.utf8) + [UInt8(ascii: " ")] + name + [0], id: id))
        }
        records.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        var body: [UInt8] = []
        for record in records {
            body += record.header
            withUnsafeBytes(of: record.id.id) { body += $0 }
        }
        return (try Self.hash(body, as: GIT_OBJECT_TREE), records.isEmpty)
    }

    private static func hash(_ bytes: [UInt8], as type: git_object_t) throws(GitError) -> git_oid {
        var id = git_oid()
        // A non-null pointer even for empty content.
        let padded = bytes.isEmpty ? [0] : bytes
        let code = padded.withUnsafeBytes { git_odb_hash(&id, $0.baseAddress, bytes.count, type) }
        try check(code, "git_odb_hash", "hash \(bytes.count) bytes as a git object")
        return id
    }
}
