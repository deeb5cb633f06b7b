// TrueupGit: the only module that talks to libgit2.
//
// Owns: opening repositories, resolving revisions, reading trees and blobs at a commit, reading the
// working tree, cloning, fetching and diffing trees. Every C handle lives in exactly one final class
// and is freed in its deinit; every return code becomes a `GitError`; every result is copied into a
// Swift value before it leaves this module.
//
// Must not: parse documents, know about environments or resources, or write to the working tree.
//
// Threading: libgit2 objects are not thread-safe. A `GitRepository`, and every snapshot made from it,
// must be used from one task at a time; none of them is `Sendable`.

import CLibGit2
import TrueupCore

/// One-time libgit2 set-up: `git_libgit2_init()` and the global options we rely on, done on first
/// use (opening a repository, cloning, fetching).
enum LibGit2 {
    /// Swift runs a static initializer exactly once, even under concurrent first use.
    private static let setUp: GitError? = {
        let initialized = git_libgit2_init()
        if initialized < 0 {
            return GitError.fromLibgit2(
                code: initialized, function: "git_libgit2_init", operation: "initialize libgit2",
                hints: [.other: "libgit2 could not start: check the installed libgit2 (1.5 or newer)"]
            )
        }
        // CI runs as root on clones owned by another user; trueup only reads them.
        let disabled = trueup_git_disable_owner_validation()
        if disabled < 0 {
            return GitError.fromLibgit2(
                code: disabled, function: "git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION)",
                operation: "disable repository owner validation", hints: [:]
            )
        }
        // libgit2 caches trees only up to 4 KiB by default, so a folder of a few hundred entries
        // was inflated again for every path looked up through it (a code folder per resource).
        let cached = trueup_git_set_tree_cache_limit(1 << 20)
        if cached < 0 {
            return GitError.fromLibgit2(
                code: cached, function: "git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT)",
                operation: "let libgit2 cache large trees", hints: [:]
            )
        }
        return nil
    }()

    /// Call before any other libgit2 function.
    static func ensureInitialized() throws(GitError) {
        if let setUp { throw setUp }
    }
}

/// Lower-case hex of a git object id, copied out of libgit2's buffer.
func hexString(_ oid: UnsafePointer<git_oid>) -> String {
    withUnsafeBytes(of: oid.pointee.id) { ContentDigest.hex($0) }
}

/// Copies a borrowed C string; nil stays nil.
func copiedString(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}
