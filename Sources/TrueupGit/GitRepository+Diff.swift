import CLibGit2

extension GitRepository {
    /// The paths of files, symlinks and submodules that differ between the trees of two revisions,
    /// sorted and without duplicates. A file that moved appears under its old and its new path.
    public func changedPaths(from old: String, to new: String) throws -> [String] {
        let oldTree = try commit(at: old).tree()
        let newTree = try commit(at: new).tree()
        let operation = "compare '\(old)' with '\(new)' in \(root)"
        var found: OpaquePointer?
        let code = git_diff_tree_to_tree(&found, handle, oldTree.handle, newTree.handle, nil)
        try check(code, "git_diff_tree_to_tree", operation)
        return Self.paths(of: GitDiff(owning: try taken(found, "git_diff_tree_to_tree", operation), in: self))
    }

    /// The same between a revision and the working tree as `--worktree` reads it: edits staged or
    /// not, and new files that are not ignored.
    public func changedPathsToWorktree(from old: String) throws -> [String] {
        let oldTree = try commit(at: old).tree()
        let operation = "compare '\(old)' with the working tree of \(root)"
        var options = git_diff_options()
        try check(git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION)), "git_diff_options_init", operation)
        options.flags = GIT_DIFF_INCLUDE_UNTRACKED.rawValue | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue
        var found: OpaquePointer?
        let code = git_diff_tree_to_workdir_with_index(&found, handle, oldTree.handle, &options)
        try check(code, "git_diff_tree_to_workdir_with_index", operation)
        return Self.paths(of: GitDiff(owning: try taken(found, "git_diff_tree_to_workdir_with_index", operation), in: self))
    }

    private static func paths(of diff: GitDiff) -> [String] {
        var paths = Set<String>()
        for index in 0..<git_diff_num_deltas(diff.handle) {
            // Borrowed from `diff`, which outlives this loop.
            guard let delta = git_diff_get_delta(diff.handle, index) else { continue }
            if let path = copiedString(delta.pointee.old_file.path) { paths.insert(path) }
            if let path = copiedString(delta.pointee.new_file.path) { paths.insert(path) }
        }
        return paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
