/// The mutable work of one `build` call.
struct BuildRun {
    let builder: DesiredStateBuilder
    var folders: [String: DesiredStateBuilder.Folder] = [:]
    var diagnostics: [Diagnostic] = []
    var extendedFolders = Set<String>()
    var effectiveCache: [String: Effective?] = [:]
    let lookups: RevisionLookups
    var ownPathChecks: PathChecks = [:]
    /// The resource whose rules are being checked (see `ResourceRules.swift`).
    var ruleTarget: RuleTarget?

    struct PathCheck: Hashable {
        var raw: String
        var expectsFile: Bool
    }

    /// Repository paths checked by one thread, with what was found at each.
    typealias PathChecks = [PathCheck: Result<SourceEntry, RepoPathProblem>]

    init(builder: DesiredStateBuilder, folders: [String: DesiredStateBuilder.Folder] = [:], lookups: RevisionLookups = RevisionLookups()) {
        self.builder = builder
        self.folders = folders
        self.lookups = lookups
    }

    var root: String { builder.root }

    /// Hands the paths this run found as their specs ask to `lookups`, for planning's inputs.
    func shareCheckedPaths() {
        lookups.remember(checked: ownPathChecks)
    }
}
