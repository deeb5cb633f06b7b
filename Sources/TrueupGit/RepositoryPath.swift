import TrueupCore

/// A caller's path, checked and normalized: repository-relative, `/`-separated, no `..`, never
/// inside `.git`. Both snapshots accept only these, so a path from a spec file cannot escape the
/// repository.
struct RepositoryPath: Hashable {
    /// Components without empty or `.` parts; empty for the repository root.
    let components: [String]

    /// `a/b/c`, or "" for the root.
    let string: String

    init(_ raw: String) throws(GitError) {
        func reject(_ why: String) -> GitError {
            GitError(
                kind: .invalidPath, operation: "use path '\(raw)'", message: why,
                hint: "give a path relative to the repository root, with '/' separators and no '..'"
            )
        }
        if raw.hasPrefix("/") { throw reject("the path is absolute") }
        if raw.utf8.contains(0) { throw reject("the path contains a NUL byte") }
        var components: [String] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." { throw reject("the path contains a '..' component") }
            if part == ".git" { throw reject("the path points inside .git, which is not part of the source") }
            components.append(String(part))
        }
        // A path already in normal form is its own string: joining the parts again would only copy it.
        self.init(components: components, string: RepoPath.isNormal(raw) ? raw : nil)
    }

    private init(components: [String], string: String? = nil) {
        self.components = components
        self.string = string ?? components.joined(separator: "/")
    }

    var isRoot: Bool { components.isEmpty }

    /// `a/b/` for use as a prefix of child paths, or "" for the root.
    var childPrefix: String { isRoot ? "" : string + "/" }

    /// The paths of the parents, outermost first: `a`, `a/b` for `a/b/c`.
    var ancestors: [RepositoryPath] {
        components.indices.dropLast().map { RepositoryPath(components: Array(components[...$0])) }
    }

    func appending(_ name: String) -> RepositoryPath {
        RepositoryPath(components: components + [name])
    }

    /// The last component, or "" for the root.
    var name: String { components.last ?? "" }
}

extension Array where Element == SourceEntry {
    /// Git's order: byte-wise by path, which for NFC names is also Swift's `<` on the path.
    func sortedByPath() -> [SourceEntry] {
        sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }
}
