#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CLibGit2
import TrueupCore

/// New contents for a file that exists at the parent commit (its mode is kept).
public struct FileChange: Sendable {
    public var path: String
    public var contents: [UInt8]

    public init(path: String, contents: [UInt8]) {
        self.path = path
        self.contents = contents
    }
}

// Writing commits, for `trueup promote`. The commit object is written first and no ref moves
// until the caller has checked the commit: a commit no ref points at is harmless (git gc drops
// it), while a branch moved to a wrong one is what a user would have to undo.
extension GitRepository {
    /// Whether `name` may be a branch name (`refs/heads/<name>` is a valid reference).
    public static func isValidBranchName(_ name: String) -> Bool {
        // Callable before any repository is opened, so it sets libgit2 up itself.
        guard (try? LibGit2.ensureInitialized()) != nil else { return false }
        var valid: Int32 = 0
        return git_branch_name_is_valid(&valid, name) == 0 && valid == 1
    }

    /// The commit at the tip of local branch `name`, or nil when there is no such branch.
    public func branchTip(_ name: String) throws -> String? {
        var id = git_oid()
        let code = git_reference_name_to_id(&id, handle, "refs/heads/\(name)")
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "git_reference_name_to_id", "read branch '\(name)' in \(root)")
        return hexString(&id)
    }

    /// The branch HEAD is on (`main`), or nil when HEAD is detached.
    public func currentBranch() throws -> String? {
        guard git_repository_head_detached(handle) != 1 else { return nil }
        var reference: OpaquePointer?
        let code = git_reference_lookup(&reference, handle, "HEAD")
        try check(code, "git_reference_lookup", "read HEAD of \(root)")
        defer { git_reference_free(reference) }
        guard let target = copiedString(git_reference_symbolic_target(reference)) else { return nil }
        return target.hasPrefix("refs/heads/") ? String(target.dropFirst("refs/heads/".count)) : nil
    }

    /// Writes a commit whose tree is `parent`'s with `changes` applied, and returns its id.
    /// Moves no reference: see `moveBranch`.
    public func writeCommit(parent revision: String, changes: [FileChange], message: String) throws -> String {
        let parent = try commit(at: revision)
        let baseline = try parent.tree()
        let operation = "write a commit on \(parent.id.prefix(12)) in \(root)"

        // The paths must stay valid C strings until git_tree_create_updated has read them.
        var paths: [UnsafeMutablePointer<CChar>] = []
        defer { paths.forEach { free($0) } }
        var updates: [git_tree_update] = []
        for change in changes {
            var entry: OpaquePointer?
            let found = git_tree_entry_bypath(&entry, baseline.handle, change.path)
            try check(found, "git_tree_entry_bypath", "find \(change.path) at \(parent.id.prefix(12))", hints: [
                .notFound: "\(change.path) is not in commit \(parent.id.prefix(12)): only files that exist can be changed",
            ])
            let mode = git_tree_entry_filemode(entry)
            git_tree_entry_free(entry)
            guard mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE else {
                throw GitError(kind: .wrongKind, operation: operation, function: nil, code: nil,
                               message: "\(change.path) is not a regular file at \(parent.id.prefix(12))",
                               hint: "only regular files are rewritten: replace the symlink or submodule with a file")
            }
            var blob = git_oid()
            let written = change.contents.withUnsafeBytes { git_blob_create_from_buffer(&blob, handle, $0.baseAddress, $0.count) }
            try check(written, "git_blob_create_from_buffer", "store the new \(change.path) in \(root)")
            guard let path = strdup(change.path) else {
                throw GitError(kind: .other, operation: operation, message: "out of memory", hint: "free some memory and try again")
            }
            paths.append(path)
            updates.append(git_tree_update(action: GIT_TREE_UPDATE_UPSERT, id: blob, filemode: mode, path: path))
        }
        var tree = git_oid()
        let built = git_tree_create_updated(&tree, handle, baseline.handle, updates.count, updates)
        try check(built, "git_tree_create_updated", operation)
        let newTree = try self.tree(id: tree)

        let signature = try Self.signature(for: handle)
        defer { git_signature_free(signature) }
        var id = git_oid()
        let parents: [OpaquePointer?] = [parent.handle]
        let committed = parents.withUnsafeBufferPointer { parentPointers in
            git_commit_create(&id, handle, nil, signature, signature, "UTF-8", message, newTree.handle, 1,
                              UnsafeMutablePointer(mutating: parentPointers.baseAddress))
        }
        try check(committed, "git_commit_create", operation)
        return hexString(&id)
    }

    /// Points local branch `name` at `commit`, provided it still points at `expected` (nil: the
    /// branch must not exist yet), so that a commit made by someone else in between is never lost.
    public func moveBranch(_ name: String, to commit: String, from expected: String?, reflog: String) throws {
        let refName = "refs/heads/\(name)"
        var target = git_oid()
        guard git_oid_fromstr(&target, commit) == 0 else {
            throw GitError(kind: .invalidSpec, operation: "move branch \(name)", function: nil, code: nil,
                           message: "'\(commit)' is not a commit id", hint: "this is a trueup bug: report it")
        }
        var reference: OpaquePointer?
        let code: Int32
        if let expected {
            var current = git_oid()
            _ = git_oid_fromstr(&current, expected)
            code = git_reference_create_matching(&reference, handle, refName, &target, 1, &current, reflog)
        } else {
            code = git_reference_create(&reference, handle, refName, &target, 0, reflog)
        }
        defer { git_reference_free(reference) }
        try check(code, "git_reference_create", "move branch \(name) to \(commit.prefix(12))", hints: [
            .exists: "branch \(name) was created meanwhile: run the command again",
            .modified: "branch \(name) moved meanwhile (another commit or push): run the command again",
            .locked: "another git process is updating branch \(name): wait for it, then run the command again",
        ])
    }

    /// Whether `path` is the same in the working tree and the index as in HEAD.
    public func isUnmodified(_ path: String) throws -> Bool {
        var flags: UInt32 = 0
        let code = git_status_file(&flags, handle, path)
        try check(code, "git_status_file", "read the status of \(path) in \(root)")
        return flags == GIT_STATUS_CURRENT.rawValue
    }

    /// Makes `paths` in the working tree and the index what HEAD has, after HEAD's branch moved
    /// to a commit that changed them. Only those paths are touched.
    public func checkOutFromHead(_ paths: [String]) throws {
        var options = git_checkout_options()
        git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH.rawValue
        var strings: [UnsafeMutablePointer<CChar>?] = paths.map { strdup($0) }
        defer { strings.forEach { free($0) } }
        let code = strings.withUnsafeMutableBufferPointer { buffer in
            options.paths = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            return git_checkout_head(handle, &options)
        }
        try check(code, "git_checkout_head", "write \(paths.joined(separator: ", ")) into the working tree of \(root)")
    }

    /// The committer: `user.name` and `user.email` from git's configuration, or trueup's own
    /// name where none is set (a CI runner, a fresh container), so that promoting never fails
    /// for want of a name.
    private static func signature(for repository: OpaquePointer) throws(GitError) -> UnsafeMutablePointer<git_signature> {
        var signature: UnsafeMutablePointer<git_signature>?
        if git_signature_default(&signature, repository) == 0, let signature { return signature }
        let code = git_signature_now(&signature, "trueup", "trueup@localhost")
        try check(code, "git_signature_now", "make the committer's signature")
        guard let signature else {
            throw GitError(kind: .other, operation: "make the committer's signature", 
                           message: "libgit2 reported success but returned no signature", hint: "check the installed libgit2 (1.5 or newer)")
        }
        return signature
    }
}
