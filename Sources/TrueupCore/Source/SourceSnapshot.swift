/// The files of a repository at one revision, as the core sees them.
///
/// The core owns this protocol and never touches git or the disk itself: TrueupGit implements it over
/// libgit2's object database (a commit) and over the working tree (`--worktree`).
public protocol SourceSnapshot {
    /// Which revision this is.
    var revision: RevisionInfo { get }

    /// Every entry below `path` (recursively), sorted by path. Directories are not listed; symlinks
    /// and submodules are listed with their kind so callers can refuse them.
    func entries(under path: String) throws -> [SourceEntry]

    /// The entry at `path`, or nil when nothing is there. Never follows a symlink.
    func entry(at path: String) throws -> SourceEntry?

    /// The names of the folders directly below `path`, sorted; `[]` when it is not a folder.
    /// Symlinks and submodules are not folders.
    func folderNames(under path: String) throws -> [String]

    /// The bytes of the file at `path`.
    func contents(of path: String) throws -> [UInt8]

    /// The entry at `path` as repository-path fields see it: nothing when a folder on the way is
    /// missing or not a folder, and the first folder on the way that is a symlink, through which
    /// the path would lead who knows where.
    func walk(to path: String) throws -> PathWalk

    /// The bytes of a file as listed by `entries(under:)`; a snapshot may read it by its object id.
    func contents(of entry: SourceEntry) throws -> [UInt8]

    /// Opens this same revision again for use on another thread, or nil when the snapshot cannot
    /// be opened twice. A snapshot is bound to one thread at a time (libgit2 objects are not
    /// thread-safe), but loading specs is many independent files and environments.
    var opener: (any SnapshotOpener)? { get }
}

extension SourceSnapshot {
    public func contents(of entry: SourceEntry) throws -> [UInt8] { try contents(of: entry.path) }

    /// From the whole listing below `path`: a folder is there when some file is below it.
    public func folderNames(under path: String) throws -> [String] {
        let prefix = path.isEmpty ? "" : path + "/"
        var names = Set<String>()
        for entry in try entries(under: path) where entry.path.hasPrefix(prefix) {
            let rest = entry.path.utf8.dropFirst(prefix.utf8.count)
            if let slash = rest.firstIndex(of: UInt8(ascii: "/")) { names.insert(String(entry.path[rest.startIndex..<slash])) }
        }
        return names.sorted()
    }

    /// The folders below `specRoot` that hold an environment file (`environment.yaml` or
    /// `.yml`) at this revision: the environments there are, whether or not they are valid.
    public func environmentFolders(under specRoot: String) throws -> Set<String> {
        var names = Set<String>()
        let prefix = specRoot + "/"
        for entry in try entries(under: specRoot) where entry.path.hasPrefix(prefix) {
            let path = SpecTreePath(entry.path, root: specRoot)
            if path.isEnvironmentFile, let folder = path.folder { names.insert(String(folder)) }
        }
        return names
    }

    public var opener: (any SnapshotOpener)? { nil }

    /// Each folder on the way looked up by its path.
    public func walk(to path: String) throws -> PathWalk {
        var prefix = ""
        for part in path.split(separator: "/").dropLast() {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            guard let entry = try entry(at: prefix) else { return PathWalk() }
            if entry.kind == .symlink { return PathWalk(symlinkOnTheWay: prefix) }
        }
        return PathWalk(entry: try entry(at: path))
    }
}

/// What lies on the way to a path (`SourceSnapshot.walk(to:)`).
public struct PathWalk: Sendable {
    /// The entry at the path; nil when nothing is there, or a folder on the way is missing, a file or a symlink.
    public var entry: SourceEntry?
    /// The first folder on the way that is a symlink.
    public var symlinkOnTheWay: String?

    public init(entry: SourceEntry? = nil, symlinkOnTheWay: String? = nil) {
        self.entry = entry
        self.symlinkOnTheWay = symlinkOnTheWay
    }
}

/// Opens a snapshot of one fixed revision; each call gives a snapshot for the calling thread only.
public protocol SnapshotOpener: Sendable {
    func open() throws -> any SourceSnapshot
}

public struct SourceEntry: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case file
        case directory
        case symlink
        case submodule
    }

    /// Repository-relative path with `/` separators and no leading `/`.
    public var path: String
    public var kind: Kind
    /// Git object id (blob or tree) in hex; for the working tree, a hash of the content where known.
    public var objectID: String

    public init(path: String, kind: Kind, objectID: String) {
        self.path = path
        self.kind = kind
        self.objectID = objectID
    }
}

public struct RevisionInfo: Hashable, Sendable, Codable {
    /// Full commit id, or "worktree" when reading the working tree.
    public var commit: String
    public var author: String
    public var message: String
    /// Seconds since 1970.
    public var time: Int64

    public init(commit: String, author: String = "", message: String = "", time: Int64 = 0) {
        self.commit = commit
        self.author = author
        self.message = message
        self.time = time
    }

    public var shortCommit: String { String(commit.prefix(12)) }
}
