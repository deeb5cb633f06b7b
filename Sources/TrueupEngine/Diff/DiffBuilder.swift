import Foundation
import Synchronization
import TrueupCore
import TrueupGit
import TrueupStore

/// Builds the pull-request report. It reads git and the state (read-only, or a controller's API)
/// and the backends' observations; it runs no code from either revision and writes nothing.
public struct DiffBuilder: Sendable {
    public let workspace: Workspace
    /// Where actual state comes from when not from the local state directory.
    public let actualState: (any ActualStateSource)?

    public init(workspace: Workspace, actualState: (any ActualStateSource)? = nil) {
        self.workspace = workspace
        self.actualState = actualState
    }

    /// With `worktree`, the head is the working tree's files (`head` names it in the report).
    public func build(base: String, head: String, only: String? = nil, worktree: Bool = false) async throws -> DiffReport {
        let repository = try GitRepository(path: workspace.repositoryRoot)
        let baseSnapshot = try repository.snapshot(at: base)
        let headSnapshot: any SourceSnapshot = worktree ? try repository.worktreeSnapshot() : try repository.snapshot(at: head)
        let baseNames = try baseSnapshot.environmentFolders(under: workspace.specRoot)
        let headNames = try headSnapshot.environmentFolders(under: workspace.specRoot)
        var names = baseNames.union(headNames)
        if let only {
            guard names.contains(only) else {
                throw EngineError("no environment named '\(only)' in either revision (environments: \(names.sorted().joined(separator: ", "))): fix --env")
            }
            names = [only]
        }
        let revisions = Revisions(
            base: base, head: head, baseCommit: baseSnapshot.revision.commit, headCommit: headSnapshot.revision.commit,
            baseNames: baseNames, headNames: headNames,
            changedPaths: worktree ? try repository.changedPathsToWorktree(from: baseSnapshot.revision.commit)
                : try repository.changedPaths(from: baseSnapshot.revision.commit, to: headSnapshot.revision.commit))
        // Environments are independent: each is reported by a task of its own, with its own
        // repository handle (libgit2 handles are not shared between threads) and its own loader
        // that assembles only that environment from the shared parsed files.
        let reconciler = Reconciler(workspace: workspace)
        // Every environment's tasks read the head's spec files (and the base's, mostly the same
        // blobs): parse them once, on every core, before the tasks start.
        let files = ParsedSpecFiles()
        if names.count > 1 { try SpecLoader(sharing: files).parseAll(headSnapshot, specRoot: workspace.specRoot) }
        // Every task runs to its end and the first error, by environment name, is thrown after:
        // cancelling the others would leave a request to a controller half answered.
        let reports = Reports()
        await withTaskGroup(of: Void.self) { group in
            for name in names {
                group.addTask {
                    let result: Result<EnvironmentDiff, any Error>
                    do { result = .success(try await report(name, revisions, reconciler, files)) } catch { result = .failure(error) }
                    reports.store(result, for: name)
                }
            }
        }
        let results = reports.all
        let environments = try names.sorted().map { name in
            guard let result = results[name] else { throw EngineError("internal error: no report was made for environment '\(name)'") }
            return try result.get()
        }
        return DiffReport(
            base: .init(revision: base, commit: revisions.baseCommit),
            head: .init(revision: head, commit: revisions.headCommit),
            environments: environments)
    }

    /// Each environment's report, filled in by the task that made it.
    final class Reports: Sendable {
        private let reports = Mutex<[String: Result<EnvironmentDiff, any Error>]>([:])
        func store(_ result: Result<EnvironmentDiff, any Error>, for name: String) { reports.withLock { $0[name] = result } }
        var all: [String: Result<EnvironmentDiff, any Error>] { reports.withLock { $0 } }
    }

    /// The two revisions and what is known of them before any environment is assembled.
    struct Revisions: Sendable {
        var base: String
        var head: String
        var baseCommit: String
        var headCommit: String
        var baseNames: Set<String>
        var headNames: Set<String>
        /// What differs between the two trees: a resource whose spec is unchanged changed only if
        /// its code folder or template file holds one of these paths.
        var changedPaths: [String]
    }

    /// One environment's (a), (b) and (c).
    func report(_ name: String, _ revisions: Revisions, _ reconciler: Reconciler, _ files: ParsedSpecFiles) async throws -> EnvironmentDiff {
        let repository = try GitRepository(path: workspace.repositoryRoot)
        let baseSnapshot = try repository.snapshot(at: revisions.baseCommit)
        let headSnapshot: any SourceSnapshot = revisions.headCommit == "worktree"
            ? try repository.worktreeSnapshot() : try repository.snapshot(at: revisions.headCommit)
        let loader = SpecLoader(sharing: files)
        let root = workspace.specRoot
        let atBase = revisions.baseNames.contains(name)

        guard revisions.headNames.contains(name) else {
            let baseEnv = try loader.load(baseSnapshot, specRoot: root, only: name).environments[name]
            let desiredChanges = Self.desiredChanges(base: baseEnv, head: nil, baseFiles: baseSnapshot, headFiles: headSnapshot, changedPaths: revisions.changedPaths)
            return EnvironmentDiff(name: name, status: .removed, errors: [], desiredChanges: desiredChanges, plan: nil, drift: [])
        }
        // An environment none of whose spec files changed has the same desired state at base;
        // otherwise its base is assembled on a task of its own while the head is assembled here.
        let sameSpecFiles = try hasSameSpecFiles(name, loader: loader, base: baseSnapshot, head: headSnapshot)
        let repositoryRoot = workspace.repositoryRoot, baseCommit = revisions.baseCommit
        async let assembledBase: DesiredState? = atBase && !sameSpecFiles
            ? SpecLoader(sharing: files).load(try GitRepository(path: repositoryRoot).snapshot(at: baseCommit), specRoot: root, only: name) : nil
        let headState = try loader.loadForPlanning(headSnapshot, specRoot: root, environment: name)
        guard let headEnv = headState.environments[name] else {
            let errors = headState.errors.filter { d in
                (d.environment?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains(name) ?? false)
                    || (d.location?.file.hasPrefix("\(root)/\(name)/") ?? false)
            }
            let shown = (errors.isEmpty ? headState.errors : errors).map(\.description)
            // Drift is still worth showing: against what base declares. When that state cannot
            // be read either, the head's errors are what the reviewer must see.
            var drift: [DriftEntry] = []
            if atBase {
                let baseState = try loader.loadForPlanning(baseSnapshot, specRoot: root, environment: name)
                if baseState.environments[name] != nil, let observed = try? await observe(name, baseState) {
                    let planned = try await reconciler.plan(environment: name, desired: baseState, snapshot: baseSnapshot, revision: revisions.base, observed: observed)
                    drift = DriftDetector.drift(planned)
                }
            }
            // What an unreadable head changes is unknown, not "everything removed": (a) stays empty.
            return EnvironmentDiff(name: name, status: .invalid, errors: shown, desiredChanges: [], plan: nil, drift: drift)
        }
        let baseEnv: DesiredEnvironment?
        if !atBase {
            baseEnv = nil
        } else if let assembled = try await assembledBase {
            baseEnv = assembled.environments[name]
        } else if headEnv.resources.values.contains(where: { $0.spec.containsString(headSnapshot.revision.shortCommit) }) {
            // Same files, but `${git.*}` may take the commit in (the head's short sha appears).
            baseEnv = try loader.load(baseSnapshot, specRoot: root, only: name).environments[name]
        } else {
            baseEnv = headEnv
        }
        let desiredChanges = Self.desiredChanges(base: baseEnv, head: headEnv, baseFiles: baseSnapshot, headFiles: headSnapshot, changedPaths: revisions.changedPaths)
        let observed: (ObservedState, [ResourceID: AppliedResource])
        do {
            observed = try await observe(name, headState)
        } catch let error as ControllerUnavailable {
            throw error
        } catch {
            // One environment's unreachable backend must not hide the report of the others.
            return EnvironmentDiff(name: name, status: .unobserved, errors: ["cannot read the actual state of \(name): \(error)"],
                                   desiredChanges: desiredChanges, plan: nil, drift: [])
        }
        let planned = try await reconciler.plan(environment: name, desired: headState, snapshot: headSnapshot, revision: revisions.head, observed: observed)
        return EnvironmentDiff(name: name, status: atBase ? .valid : .added, errors: [], desiredChanges: desiredChanges,
                               plan: planned.plan, drift: DriftDetector.drift(planned))
    }

    /// The actual state of one environment: from a controller's API, or observed through the
    /// environment's backends with the state store opened read-only.
    func observe(_ name: String, _ desired: DesiredState) async throws -> (ObservedState, [ResourceID: AppliedResource]) {
        if let actualState { return try await actualState.actualState(environment: name) }
        let applied = try workspace.store.appliedResources(environment: name)
        guard let environment = desired.environments[name] else { return (ObservedState(), applied) }
        let backends = try workspace.backends(for: environment.settings)
        return (try await Observer(backends: backends).observe(environment, applied: applied), applied)
    }

    /// Whether every spec file `name` is assembled from (its folder and, through `extends`, the
    /// folders it inherits) is the same blob at base as at head.
    func hasSameSpecFiles(_ name: String, loader: SpecLoader, base: SourceSnapshot, head: SourceSnapshot) throws -> Bool {
        let root = workspace.specRoot
        let headEntries = try head.entries(under: root)
        guard let folders = loader.neededFolders(name, entries: headEntries, snapshot: head, root: root) else { return false }
        func files(_ entries: [SourceEntry]) -> [SourceEntry] {
            entries.filter { folders.contains(SpecLoader.folder(of: $0.path, root: root) ?? "") }
        }
        return files(try base.entries(under: root)) == files(headEntries)
    }

    /// (a): resource by resource, field by field, of the merged and substituted specs.
    static func desiredChanges(base: DesiredEnvironment?, head: DesiredEnvironment?, baseFiles: SourceSnapshot, headFiles: SourceSnapshot,
                               changedPaths: [String]) -> [ResourceChange] {
        var changes: [ResourceChange] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func settings(_ env: DesiredEnvironment?) -> JSONValue? {
            guard let env, let data = try? encoder.encode(env.settings) else { return nil }
            return try? JSONValue.parse(data)
        }
        let baseSettings = settings(base), headSettings = settings(head)
        if baseSettings != headSettings, base != nil, head != nil {
            changes.append(ResourceChange(resource: "Environment/\(head!.name)", change: .modified, fields: FieldChange.diff(baseSettings, headSettings, path: "spec")))
        }
        let ids = Set(base?.resources.keys.map { $0 } ?? []).union(head?.resources.keys.map { $0 } ?? [])
        for id in ids.sorted() {
            if let b = base?.resources[id], let h = head?.resources[id], b.spec == h.spec, !pointsAtChangedContent(h, changedPaths) { continue }
            let before = base?.resources[id].map { withRepositoryContent($0, baseFiles) }
            let after = head?.resources[id].map { withRepositoryContent($0, headFiles) }
            if before == after { continue }
            let kind: ResourceChange.Change = before == nil ? .added : after == nil ? .removed : .modified
            changes.append(ResourceChange(resource: id.description, change: kind, fields: FieldChange.diff(before, after, path: "spec")))
        }
        return changes
    }
}

/// Whether a resource's `code` folder or `templateFile` holds one of `changedPaths`.
func pointsAtChangedContent(_ resource: Resource, _ changedPaths: [String]) -> Bool {
    for raw in [resource.typed.code, resource.prompt?.templateFile] {
        guard let raw, case .success(let path) = RepoPath.normalise(raw) else { continue }
        if changedPaths.contains(where: { path.isEmpty || $0 == path || $0.hasPrefix(path + "/") }) { return true }
    }
    return false
}

/// What a spec points at in the repository is part of the change too: a code folder's tree id, a
/// template file's text. They show as `code@tree` and `templateFile@content` beside the spec.
func withRepositoryContent(_ resource: Resource, _ files: SourceSnapshot) -> JSONValue {
    guard case .object(var members) = resource.spec else { return resource.spec }
    if let code = resource.typed.code, case .success(let path) = RepoPath.normalise(code) {
        members["code@tree"] = .string(String(((try? files.entry(at: path))??.objectID ?? "missing").prefix(12)))
    }
    if let template = resource.prompt?.templateFile, case .success(let path) = RepoPath.normalise(template),
       let bytes = try? files.contents(of: path) {
        members["templateFile@content"] = .string(String(decoding: bytes, as: UTF8.self))
    }
    return .object(members)
}

/// Actual state from somewhere other than the local state directory: a running controller.
public protocol ActualStateSource: Sendable {
    func actualState(environment: String) async throws -> (ObservedState, [ResourceID: AppliedResource])
}
