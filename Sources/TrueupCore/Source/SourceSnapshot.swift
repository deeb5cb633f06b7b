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

    /// The bytes of the file at `path`.
    func contents(of path: String) throws -> [UInt8]

    /// A way to read the files listed by `entries(under:)` from several threads at once, or nil
    /// when the snapshot offers none (then read through the snapshot, on its own task).
    var concurrentContents: (any ConcurrentContents)? { get }
}

extension SourceSnapshot {
    public var concurrentContents: (any ConcurrentContents)? { nil }
}

/// Hands each thread its own reader of file bytes: a snapshot is bound to one task (libgit2 objects
/// are not thread-safe), but loading a repository's specs is many independent files.
public protocol ConcurrentContents: Sendable {
    /// A reader for the calling thread; use it on that thread only.
    func makeReader() throws -> any EntryContentsReader
}

public protocol EntryContentsReader {
    /// The bytes of a file entry, as listed by the snapshot this reader came from.
    func contents(of entry: SourceEntry) throws -> [UInt8]
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
