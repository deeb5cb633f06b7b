import CLibGit2

extension GitRepository {
    /// What to do when a remote refuses us, the same for clone and fetch.
    private static let refusalHints: [GitError.Kind: String] = [
        .authentication: "the remote needs credentials, which trueup does not configure: use a public URL or a local mirror",
        .certificate: "the server's TLS certificate is not signed by a CA in the system's bundle (Debian's ca-certificates): fix the server's certificate or its chain, or use a local mirror",
    ]

    /// Clones `url` (a URL or a local path) into the new folder `path` as a bare repository.
    ///
    /// The clone's remote "origin" fetches `refs/heads/*` into `refs/remotes/origin/*`, so after a
    /// `fetch()` resolve `origin/<branch>` to see the remote's latest commit. No credentials are
    /// configured: public https, local paths and file:// work; private remotes fail with a
    /// `.authentication` error, and servers whose certificate the system does not trust with a
    /// `.certificate` one.
    public static func cloneBare(url: String, to path: String) throws -> GitRepository {
        try LibGit2.ensureInitialized()
        let operation = "clone '\(url)' into '\(path)'"
        var options = git_clone_options()
        let initCode = git_clone_options_init(&options, UInt32(GIT_CLONE_OPTIONS_VERSION))
        try check(initCode, "git_clone_options_init", operation)
        options.bare = 1

        var repository: OpaquePointer?
        let code = git_clone(&repository, url, path, &options)
        try check(code, "git_clone", operation, hints: [
            .exists: "'\(path)' already exists and is not empty: remove it, or open it and fetch instead",
            .notFound: "check the URL or path of the remote",
            .other: "check the URL (https://..., file://... or the path of an existing repository) and the network",
        ].merging(refusalHints) { own, _ in own })
        return GitRepository(owning: try taken(repository, "git_clone", operation))
    }

    /// Fetches `remote` with its configured refspecs, pruning remote-tracking branches that were
    /// deleted on the remote. Local branches are not moved: resolve `origin/<branch>` afterwards.
    public func fetch(remote name: String = "origin") throws {
        let operation = "fetch remote '\(name)' into \(root)"
        try LibGit2.ensureInitialized()
        var found: OpaquePointer?
        let lookupCode = git_remote_lookup(&found, handle, name)
        try check(lookupCode, "git_remote_lookup", operation, hints: [
            .notFound: "the repository has no remote named '\(name)': check `git remote -v`",
            .invalidSpec: "'\(name)' is not a valid remote name",
        ])
        let remote = GitRemote(owning: try taken(found, "git_remote_lookup", operation), in: self)

        var options = git_fetch_options()
        let initCode = git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
        try check(initCode, "git_fetch_options_init", operation)
        options.prune = GIT_FETCH_PRUNE

        let fetchCode = git_remote_fetch(remote.handle, nil, &options, nil)
        try check(fetchCode, "git_remote_fetch", operation, hints: [
            .notFound: "the remote URL does not point at a repository: check `git remote -v`",
            .other: "check the network and the remote URL (`git remote -v`)",
        ].merging(Self.refusalHints) { own, _ in own })
    }
}
