/// The resource whose rules are being checked: what a message about it needs.
struct RuleTarget {
    var id: ResourceID
    var environment: String
    var node: Node
    var declaredAt: [SourceLocation]
    var serving: EnvironmentSettings.Backend.BackendType
}

/// The build's side of each kind's rules (the rules themselves live with the kinds, in
/// `Resources/Specs/`): diagnostics, the repository at the revision, and what it costs to read it.
extension BuildRun: SpecRuleChecking {
    private var target: RuleTarget {
        guard let ruleTarget else { preconditionFailure("rules checked outside validateSubstituted") }
        return ruleTarget
    }

    mutating func fail(_ path: String, _ message: String) {
        fail(at: location(of: path), path, message)
    }

    mutating func fail(at location: SourceLocation, _ path: String, _ message: String) {
        let target = self.target
        diagnostics.append(Diagnostic(at: location, "\(target.id): \(message)", field: path, environment: target.environment))
    }

    func location(of path: String) -> SourceLocation {
        Resource.location(of: FieldPath.parse(path), in: target.node)
    }

    var declaredAt: [SourceLocation] { target.declaredAt }

    var serving: EnvironmentSettings.Backend.BackendType { target.serving }

    var revisionWords: String {
        builder.snapshot.revision.commit == "worktree" ? "in the working tree" : "at commit \(builder.snapshot.revision.shortCommit)"
    }

    mutating func checkPath(_ raw: String, _ expect: RepoPath.Expect) -> Result<SourceEntry, RepoPathProblem> {
        // The same code folder is named by every job of a project. Remembered by this thread
        // only: a project's resources are declared together and so validated together, and
        // another thread that checks the path again walks folders the snapshot has already read
        // (see `GitCommitSnapshot.folders`), which cost less than sharing the answers under a
        // lock did.
        let key = PathCheck(raw: raw, expectsFile: expect == .file)
        if let known = ownPathChecks[key] { return known }
        let result = RepoPath.check(raw, expect: expect, in: builder.snapshot)
        ownPathChecks[key] = result
        return result
    }

    mutating func digest(of entry: SourceEntry) -> String? {
        lookups.digest(of: entry, in: builder.snapshot)
    }
}
