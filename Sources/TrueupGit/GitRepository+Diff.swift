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
        let diff = GitDiff(owning: try taken(found, "git_diff_tree_to_tree", operation), in: self)

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
