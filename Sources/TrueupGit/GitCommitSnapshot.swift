import CLibGit2
import Synchronization
import TrueupCore

/// The files of one commit, read straight from the object database (no checkout).
///
/// Holds the commit's root tree for its whole life, so each call starts from it instead of looking
/// the commit up again. Not thread-safe: use it from one task at a time.
public final class GitCommitSnapshot: SourceSnapshot {
    public let revision: RevisionInfo
    let root: GitTree

    /// The entries of each folder looked into so far, by tree id. Spec fields name many paths in
    /// few folders (every project's code sits in one folder per team), so each folder's tree is
    /// read once instead of once per path below it; and once for every snapshot of this commit
    /// that is opened again for another thread (see `GitCommitOpener`), which share them.
    let folders: CommitFolders
    /// What this snapshot has taken from `folders`, which it then asks again without a lock.
    private var ownFolders: [TreeKey: [String: Child]] = [:]
    private let rootKey: TreeKey

    init(tree: GitTree, revision: RevisionInfo, sharing folders: CommitFolders) {
        self.root = tree
        self.revision = revision
        self.folders = folders
        self.rootKey = TreeKey(git_tree_id(tree.handle).pointee)
    }

    /// The id of the commit's root tree.
    public var treeID: String { root.id }

    /// Every file, symlink and submodule below `path`, sorted by path; `[]` when nothing is there.
    /// When `path` names a file, symlink or submodule, that one entry (like `git ls-tree -r`).
    public func entries(under path: String) throws -> [SourceEntry] {
        let location = try RepositoryPath(path)
        if location.isRoot {
            return try listing(of: root, prefix: "")
        }
        guard let child = try child(at: location) else { return [] }
        guard child.kind == .directory else { return [child.entry(at: location.string)] }
        return try listing(of: root.repository.tree(id: child.oid), prefix: location.childPrefix)
    }

    /// The folders directly below `path`, from its tree alone: a commit's other folders are not
    /// read (planning one environment lists only the folders it is built from).
    public func folderNames(under path: String) throws -> [String] {
        let location = try RepositoryPath(path)
        let tree: TreeKey
        if location.isRoot {
            tree = rootKey
        } else {
            guard let child = try child(at: location), child.kind == .directory else { return [] }
            tree = TreeKey(child.oid)
        }
        return try children(of: tree).compactMap { $0.value.kind == .directory ? $0.key : nil }.sorted()
    }

    /// The entry at `path`: a file, directory (with its tree id), symlink or submodule; nil when
    /// nothing is there. A symlink is reported, never followed, also in the middle of a path.
    public func entry(at path: String) throws -> SourceEntry? {
        let location = try RepositoryPath(path)
        if location.isRoot {
            return SourceEntry(path: "", kind: .directory, objectID: root.id)
        }
        return try child(at: location)?.entry(at: location.string)
    }

    /// One walk from the root down the folders of `path`, refusing symlinks on the way (see
    /// `SourceSnapshot.walk(to:)`): each folder is looked up by its tree id, so no path of a
    /// folder on the way is made or parsed.
    public func walk(to path: String) throws -> PathWalk {
        let location = try RepositoryPath(path)
        if location.isRoot { return PathWalk(entry: SourceEntry(path: "", kind: .directory, objectID: root.id)) }
        var folder = try children(of: rootKey)
        for (depth, name) in location.components.enumerated() {
            guard let child = folder[name] else { return PathWalk() }
            if depth == location.components.count - 1 { return PathWalk(entry: child.entry(at: location.string)) }
            switch child.kind {
            case .directory: folder = try children(of: TreeKey(child.oid))
            case .symlink: return PathWalk(symlinkOnTheWay: location.components[...depth].joined(separator: "/"))
            case .file, .submodule: return PathWalk()
            }
        }
        return PathWalk()
    }

    /// The bytes of the regular file at `path`, exactly as committed.
    public func contents(of path: String) throws -> [UInt8] {
        let location = try RepositoryPath(path)
        let operation = "read '\(location.string)' at \(revision.shortCommit)"
        guard let child = try child(at: location) else {
            throw GitError(
                kind: .notFound, operation: operation, message: "no such file in the commit",
                hint: "check the path (relative to the repository root) and the revision"
            )
        }
        guard child.kind == .file else {
            throw GitError(
                kind: .wrongKind, operation: operation, message: "it is a \(child.kind.rawValue), not a file",
                hint: "trueup reads only regular files and never follows symlinks or enters submodules"
            )
        }
        return try root.repository.blob(id: child.oid).bytes
    }

    // MARK: - Reading trees

    /// What a folder's tree says of one of its entries. The entry's path and hex id are made only
    /// when asked for: a folder is read whole, and most of its entries are never looked up.
    struct Child: Sendable {
        var oid: git_oid
        var kind: SourceEntry.Kind

        init(_ entry: OpaquePointer) {
            oid = git_tree_entry_id(entry).pointee
            kind =
                switch git_tree_entry_type(entry) {
                case GIT_OBJECT_TREE: .directory
                case GIT_OBJECT_COMMIT: .submodule
                default: git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK ? .symlink : .file
                }
        }

        func entry(at path: String) -> SourceEntry {
            var copy = oid
            return SourceEntry(path: path, kind: kind, objectID: hexString(&copy))
        }
    }

    /// The entry at a path, or nil when nothing is there (also when a folder on the way is a file
    /// or a symlink, as `git_tree_entry_bypath` has it).
    private func child(at location: RepositoryPath) throws(GitError) -> Child? {
        var folder = try children(of: rootKey)
        for name in location.components.dropLast() {
            guard let child = folder[name], child.kind == .directory else { return nil }
            folder = try children(of: TreeKey(child.oid))
        }
        return location.components.last.flatMap { folder[$0] }
    }

    /// The entries of the folder whose tree is `key`.
    private func children(of key: TreeKey) throws(GitError) -> [String: Child] {
        if let known = ownFolders[key] { return known }
        if let known = folders.known(key) {
            ownFolders[key] = known
            return known
        }
        let tree = key == rootKey ? root : try root.repository.tree(id: key.oid)
        var children: [String: Child] = [:]
        let count = git_tree_entrycount(tree.handle)
        children.reserveCapacity(count)
        for index in 0..<count {
            // Borrowed from `tree`, which stays alive for this whole loop.
            guard let borrowed = git_tree_entry_byindex(tree.handle, index), let name = copiedString(git_tree_entry_name(borrowed)) else { continue }
            children[name] = Child(borrowed)
        }
        folders.remember(children, for: key)
        ownFolders[key] = children
        return children
    }

    /// All non-directory entries below `tree`, in git's order (which is byte-wise path order).
    private func listing(of tree: GitTree, prefix: String) throws(GitError) -> [SourceEntry] {
        var entries: [SourceEntry] = []
        try collect(tree, prefix: prefix, into: &entries)
        return entries.sortedByPath()
    }

    private func collect(_ tree: GitTree, prefix: String, into entries: inout [SourceEntry]) throws(GitError) {
        let count = git_tree_entrycount(tree.handle)
        for index in 0..<count {
            // Borrowed from `tree`, which stays alive for this whole iteration.
            guard let borrowed = git_tree_entry_byindex(tree.handle, index) else { continue }
            let name = copiedString(git_tree_entry_name(borrowed)) ?? ""
            let child = Child(borrowed)
            if child.kind == .directory {
                try collect(tree.repository.tree(id: child.oid), prefix: prefix + name + "/", into: &entries)
            } else {
                entries.append(child.entry(at: prefix + name))
            }
        }
    }
}

/// A tree's id as a dictionary key.
struct TreeKey: Hashable, Sendable {
    let oid: git_oid

    init(_ oid: git_oid) { self.oid = oid }

    static func == (a: TreeKey, b: TreeKey) -> Bool {
        withUnsafeBytes(of: a.oid) { x in withUnsafeBytes(of: b.oid) { y in x.elementsEqual(y) } }
    }

    func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: oid) { hasher.combine(bytes: $0) }
    }
}

/// The folders of one commit read so far, by tree id. Trees never change, so what one thread read
/// is true for every thread reading the same commit.
final class CommitFolders: Sendable {
    private let folders = Mutex<[TreeKey: [String: GitCommitSnapshot.Child]]>([:])

    func known(_ key: TreeKey) -> [String: GitCommitSnapshot.Child]? {
        folders.withLock { $0[key] }
    }

    func remember(_ children: [String: GitCommitSnapshot.Child], for key: TreeKey) {
        folders.withLock { $0[key] = children }
    }
}
