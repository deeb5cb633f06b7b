import CLibGit2
import TrueupCore

// One final class per libgit2 handle type, each freeing its handle in deinit. Objects read from a
// repository keep that repository alive: libgit2 requires the repository to outlive them.

/// Unwraps an out-parameter that libgit2 promised to set because the call returned 0.
func taken(_ handle: OpaquePointer?, _ function: String, _ operation: @autoclosure () -> String)
    throws(GitError) -> OpaquePointer
{
    guard let handle else {
        throw GitError(
            kind: .other, operation: operation(), function: function, code: 0,
            message: "libgit2 reported success but returned no object",
            hint: "this is a libgit2 bug or version mismatch: check the installed libgit2 (1.5 or newer)"
        )
    }
    return handle
}

/// Any object from `git_revparse_single` before it is peeled.
final class GitObject {
    let handle: OpaquePointer
    let repository: GitRepository
    init(owning handle: OpaquePointer, in repository: GitRepository) {
        self.handle = handle
        self.repository = repository
    }
    deinit { git_object_free(handle) }
}

final class GitCommit {
    let handle: OpaquePointer
    let repository: GitRepository
    init(owning handle: OpaquePointer, in repository: GitRepository) {
        self.handle = handle
        self.repository = repository
    }
    deinit { git_commit_free(handle) }

    var id: String { hexString(git_commit_id(handle)) }

    /// Id, author, message and time, copied out of the commit.
    var info: RevisionInfo {
        var author = ""
        if let signature = git_commit_author(handle) {
            let name = copiedString(signature.pointee.name) ?? ""
            let email = copiedString(signature.pointee.email) ?? ""
            author = "\(name) <\(email)>"
        }
        let message = copiedString(git_commit_message(handle)) ?? ""
        return RevisionInfo(
            commit: id, author: author, message: message.trimmingTrailingNewlines(),
            time: Int64(git_commit_time(handle))
        )
    }

    func tree() throws(GitError) -> GitTree {
        var tree: OpaquePointer?
        let code = git_commit_tree(&tree, handle)
        try check(code, "git_commit_tree", "read the tree of commit \(id)")
        return GitTree(owning: try taken(tree, "git_commit_tree", "read the tree of commit \(id)"), in: repository)
    }
}

final class GitTree {
    let handle: OpaquePointer
    let repository: GitRepository
    init(owning handle: OpaquePointer, in repository: GitRepository) {
        self.handle = handle
        self.repository = repository
    }
    deinit { git_tree_free(handle) }

    var id: String { hexString(git_tree_id(handle)) }
}

final class GitBlob {
    let handle: OpaquePointer
    let repository: GitRepository
    init(owning handle: OpaquePointer, in repository: GitRepository) {
        self.handle = handle
        self.repository = repository
    }
    deinit { git_blob_free(handle) }

    /// The raw bytes (no filters such as CRLF conversion), copied.
    var bytes: [UInt8] {
        let size = Int(git_blob_rawsize(handle))
        guard size > 0, let start = git_blob_rawcontent(handle) else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: size))
    }
}

final class GitIndex {
    let handle: OpaquePointer
    let repository: GitRepository
    init(owning handle: OpaquePointer, in repository: GitRepository) {
        self.handle = handle
        self.repository = repository
    }
    deinit { git_index_free(handle) }

    /// The mode of the index entry at exactly `path` (stage 0), or nil when `path` is not tracked.
    func mode(at path: String) -> UInt32? {
        git_index_get_bypath(handle, path, 0).map { $0.pointee.mode }
    }

    /// The object id recorded in the index for `path`, or nil when `path` is not tracked.
    func objectID(at path: String) -> git_oid? {
        git_index_get_bypath(handle, path, 0).map { $0.pointee.id }
    }

    /// Whether any tracked path lies under the directory `path`.
    func tracksSomething(under directory: String) -> Bool {
        var position = 0
        return git_index_find_prefix(&position, handle, directory + "/") == 0
    }
}

final class GitRemote {
    let handle: OpaquePointer
    let repository: GitRepository
    init(owning handle: OpaquePointer, in repository: GitRepository) {
        self.handle = handle
        self.repository = repository
    }
    deinit { git_remote_free(handle) }
}

final class GitDiff {
    let handle: OpaquePointer
    let repository: GitRepository
    init(owning handle: OpaquePointer, in repository: GitRepository) {
        self.handle = handle
        self.repository = repository
    }
    deinit { git_diff_free(handle) }
}
