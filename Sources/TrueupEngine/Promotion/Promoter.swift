import Foundation
import TrueupCore
import TrueupGit
import TrueupYAML

/// What `trueup promote` is asked to do.
public struct PromotionRequest: Sendable {
    public var from: String
    public var to: String
    /// Only this Model (`Model/name`); nil: every Model `to` pins.
    public var resource: ResourceID?
    /// Commit on this branch (created from HEAD when it does not exist) instead of HEAD's branch.
    public var branch: String?
    /// Say what would change and write nothing.
    public var dryRun: Bool

    public init(from: String, to: String, resource: ResourceID? = nil, branch: String? = nil, dryRun: Bool = false) {
        self.from = from
        self.to = to
        self.resource = resource
        self.branch = branch
        self.dryRun = dryRun
    }
}

/// What a promotion changed, or would change.
public struct Promotion: Sendable {
    public struct Change: Sendable {
        public var resource: ResourceID
        public var oldVersion: String
        public var newVersion: String
        /// The scalar rewritten: the version itself, or the variable it reads.
        public var location: SourceLocation
        public var field: String
    }

    public var changes: [Change] = []
    /// Models already at the version live in the source environment.
    public var upToDate: [(resource: ResourceID, version: String)] = []
    /// Models left alone, and why (they train their own version, or the source lacks them).
    public var skipped: [(resource: ResourceID, reason: String)] = []
    /// The commit made; nil for a dry run or when nothing changed.
    public var commit: String?
    /// The branch the commit is on.
    public var branch: String?
    public var message: String = ""
}

/// `trueup promote`: writes the Model versions live in one environment into another's YAML, as a
/// commit (DESIGN §4), so that deploy-model environments move only through git.
///
/// What is live is read from the registry the way the planner's `promotion.from` check reads it
/// (the source environment's alias), so a promoted version always passes that check. Only the
/// scalar holding the version changes, byte for byte; when the pinned value is `${vars.NAME}`, the
/// variable in the target's environment.yaml is what changes. The new commit is loaded and checked
/// before any branch moves.
public struct Promoter {
    public let workspace: Workspace

    public init(workspace: Workspace) {
        self.workspace = workspace
    }

    public func promote(_ request: PromotionRequest) async throws -> Promotion {
        let repository = try GitRepository(path: workspace.repositoryRoot)
        let headBranch = try repository.currentBranch()
        let target = try commitTarget(request, repository: repository, headBranch: headBranch)
        let snapshot = try repository.snapshot(at: target.parent)
        let desired = try SpecLoader().load(snapshot, specRoot: workspace.specRoot)
        // Both environments are looked up here, so that the errors name the option to fix.
        func environment(_ name: String, option: String) throws -> DesiredEnvironment {
            guard let found = desired.environments[name] else { throw invalidEnvironment(name, option: option, desired, snapshot) }
            return found
        }
        _ = try environment(request.to, option: "--to")
        let source = try environment(request.from, option: "--from")
        let planned = try await Reconciler(workspace: workspace).plan(environment: request.to, desired: desired, snapshot: snapshot, revision: target.parent)
        let destination = planned.environment
        if let required = destination.settings.promotionFrom, required != request.from {
            throw EngineError("\(request.to) takes its versions from \(required) (spec.promotion.from at \(destination.definedAt)), not from \(request.from): run `trueup promote --from \(required) --to \(request.to)`")
        }

        var promotion = Promotion()
        var edits: [String: [ScalarEditRequest]] = [:]
        var problems: [String] = []
        // Names and aliases as the planner's promotion check reads them.
        for resource in try candidates(request, destination: destination, source: source, promotion: &promotion) {
            guard let sourceResource = source.resources[resource.id] else { continue }
            let name = resource.registryName
            let alias = sourceResource.alias
            let current = resource.model?.version ?? ""
            guard let live = planned.observed.registry.models[name]?.aliases[alias] else {
                problems.append("\(resource.id): nothing is live in \(request.from) (alias '\(alias)' of model '\(name)' points at no version): apply \(request.from) first (`trueup apply --env \(request.from)`)")
                continue
            }
            if planned.observed.registry.models[name]?.versions[live]?.tags["trueup.gates.\(request.from)"] == "failed" {
                problems.append("\(resource.id): version \(live), live in \(request.from), is marked as having failed its gates there: fix \(request.from) first")
                continue
            }
            if live == current {
                promotion.upToDate.append((resource.id, live))
                continue
            }
            do {
                let edit = try scalarToEdit(for: resource, in: destination, snapshot: snapshot)
                if let other = edits[edit.file]?.first(where: { $0.line == edit.line && $0.column == edit.column }), other.value != live {
                    problems.append("\(resource.id): its version is \(edit.field) (\(edit.file):\(edit.line):\(edit.column)), which \(other.resource) reads too, and the two are live in \(request.from) at different versions (\(other.value) and \(live)): give each model its own variable")
                    continue
                }
                edits[edit.file, default: []].append(ScalarEditRequest(resource: resource.id, line: edit.line, column: edit.column, field: edit.field, value: live))
                promotion.changes.append(Promotion.Change(resource: resource.id, oldVersion: current, newVersion: live,
                                                          location: SourceLocation(file: edit.file, line: edit.line, column: edit.column), field: edit.field))
            } catch let problem as EngineError {
                problems.append("\(resource.id): \(problem.description)")
            }
        }
        if !problems.isEmpty {
            throw EngineError("nothing was promoted from \(request.from) to \(request.to):\n" + problems.map { "  \($0)" }.joined(separator: "\n"))
        }
        promotion.message = Self.commitMessage(promotion, from: request.from, to: request.to)
        guard !promotion.changes.isEmpty, !request.dryRun else { return promotion }

        var files: [FileChange] = []
        for (file, fileEdits) in edits.sorted(by: { $0.key < $1.key }) {
            var bytes = try snapshot.contents(of: file)
            // From the end of the file backwards, so that earlier edits keep their line and column.
            for edit in fileEdits.sorted(by: { ($0.line, $0.column) > ($1.line, $1.column) }) {
                do {
                    bytes = try ScalarEdit.replacing(in: bytes, line: edit.line, column: edit.column, with: edit.value)
                } catch {
                    throw EngineError("\(edit.resource): cannot rewrite \(edit.field) at \(file):\(edit.line):\(edit.column): \(error.description)")
                }
            }
            files.append(FileChange(path: file, contents: bytes))
        }
        if target.updatesWorktree {
            for file in files.map(\.path) {
                if try repository.isUnmodified(file) { continue }
                throw EngineError("\(file) has changes that are not committed: commit or stash them, or pass --branch to commit the promotion on another branch")
            }
        }

        let commit = try repository.writeCommit(parent: target.parent, changes: files, message: promotion.message)
        try check(commit, promotion, request: request, repository: repository)
        try repository.moveBranch(target.branch, to: commit, from: target.expectedTip, reflog: "trueup promote: \(request.from) -> \(request.to)")
        if target.updatesWorktree { try repository.checkOutFromHead(files.map(\.path)) }
        promotion.commit = commit
        promotion.branch = target.branch
        return promotion
    }

    // MARK: - Which models, which scalar

    /// The Models to promote, in name order. Models that train their own version, or that the
    /// source does not declare, are skipped (with the reason), or refused when named.
    private func candidates(_ request: PromotionRequest, destination: DesiredEnvironment, source: DesiredEnvironment, promotion: inout Promotion) throws -> [Resource] {
        if let wanted = request.resource {
            guard wanted.kind == .model else {
                throw EngineError("\(wanted): only Models are promoted: a \(wanted.kind.rawValue) version follows its content in git, so promote it by giving \(request.to) the same spec as \(request.from)")
            }
            guard let resource = destination.resources[wanted] else {
                let models = destination.resources.keys.filter { $0.kind == .model }.sorted().map(\.description)
                throw EngineError("\(request.to) has no \(wanted) (its models: \(models.isEmpty ? "none" : models.joined(separator: ", "))): fix --resource")
            }
            guard resource.model?.version != nil else {
                throw EngineError("\(wanted) in \(request.to) trains its own version (it sets no spec.version): pin a version in \(workspace.specRoot)/\(request.to)/ to deploy a model promoted from \(request.from)")
            }
            guard source.resources[wanted] != nil else {
                throw EngineError("\(request.from) has no \(wanted), so there is no version live there to promote: declare it in \(request.from) or promote from another environment")
            }
            return [resource]
        }
        var result: [Resource] = []
        for id in destination.resources.keys.filter({ $0.kind == .model }).sorted() {
            guard let resource = destination.resources[id] else { continue }
            if resource.model?.version == nil {
                promotion.skipped.append((id, "it trains its own version in \(request.to) (no spec.version)"))
            } else if source.resources[id] == nil {
                promotion.skipped.append((id, "\(request.from) does not declare it"))
            } else {
                result.append(resource)
            }
        }
        if result.isEmpty {
            throw EngineError("\(request.to) pins no Model version that \(request.from) also declares, so there is nothing to promote: pin one with spec.version in \(workspace.specRoot)/\(request.to)/")
        }
        return result
    }

    private struct ScalarEditRequest {
        var resource: ResourceID
        var line: Int
        var column: Int
        var field: String
        var value: String
    }

    /// Where the version of `resource` is written: `spec.version` itself, or the variable of the
    /// environment's environment.yaml it reads when it is exactly `${vars.NAME}`. Only files of the
    /// target environment's own folder are rewritten: a base is shared by other environments.
    private func scalarToEdit(for resource: Resource, in environment: DesiredEnvironment, snapshot: SourceSnapshot) throws -> (file: String, line: Int, column: Int, field: String) {
        let location = resource.location(of: FieldPath.parse("spec.version"))
        let folder = "\(workspace.specRoot)/\(environment.name)/"
        guard location.file.hasPrefix(folder) else {
            throw EngineError("its version is set at \(location), which environments other than \(environment.name) may share: pin spec.version in a file under \(folder)")
        }
        let raw: String
        do {
            raw = try ScalarEdit.scalar(in: try snapshot.contents(of: location.file), line: location.line, column: location.column).value
        } catch let problem as ScalarEdit.Problem {
            throw EngineError("cannot rewrite spec.version at \(location): \(problem.description)")
        }
        guard raw.contains("${") else { return (location.file, location.line, location.column, "spec.version") }
        guard raw.hasPrefix("${vars."), raw.hasSuffix("}"), raw.utf8.filter({ $0 == UInt8(ascii: "}") }).count == 1 else {
            throw EngineError("spec.version at \(location) is '\(raw)', which mixes text and variables: write the version alone, or exactly ${vars.NAME}")
        }
        let variable = String(raw.dropFirst("${vars.".count).dropLast())
        let file = environment.definedAt.file
        let documents: [Document]
        do {
            documents = try YAMLLoader().load(try snapshot.contents(of: file), file: file)
        } catch {
            throw EngineError("cannot read \(file) to rewrite variable \(variable): \(error)")
        }
        guard let value = documents.lazy.compactMap({ $0.root["spec"]?["variables"]?[variable] }).first else {
            throw EngineError("spec.version at \(location) reads variable '\(variable)', which \(file) does not define under spec.variables")
        }
        return (file, value.location.line, value.location.column, "spec.variables.\(variable)")
    }

    // MARK: - Committing

    private struct CommitTarget {
        /// The revision the commit is made on.
        var parent: String
        var branch: String
        /// The branch's tip now; nil when the branch is new.
        var expectedTip: String?
        /// Committing on the checked-out branch: the working tree and index follow.
        var updatesWorktree: Bool
    }

    private func commitTarget(_ request: PromotionRequest, repository: GitRepository, headBranch: String?) throws -> CommitTarget {
        guard !repository.isBare || request.branch != nil else {
            throw EngineError("\(repository.root) is a bare repository, which has no checked-out branch to commit on: pass --branch")
        }
        guard let branch = request.branch ?? headBranch else {
            throw EngineError("HEAD is detached, so there is no branch to commit the promotion on: check out a branch, or pass --branch NAME")
        }
        guard GitRepository.isValidBranchName(branch) else {
            throw EngineError("'\(branch)' is not a valid branch name: fix --branch (no spaces, '..', '~', '^', ':' or trailing '.lock')")
        }
        let tip = try repository.branchTip(branch)
        return CommitTarget(parent: tip ?? "HEAD", branch: branch, expectedTip: tip, updatesWorktree: branch == headBranch && !repository.isBare)
    }

    /// Loads the new commit and checks that it is valid for the target environment and pins exactly
    /// the promoted versions: a rewrite that changed anything else is never committed to a branch.
    private func check(_ commit: String, _ promotion: Promotion, request: PromotionRequest, repository: GitRepository) throws {
        let snapshot = try repository.snapshot(at: commit)
        let desired = try SpecLoader().load(snapshot, specRoot: workspace.specRoot)
        guard let environment = desired.environments[request.to] else {
            throw EngineError("the promotion was not committed: the rewritten specs of \(request.to) are not valid:\n"
                              + desired.errors.prefix(10).map { "  \($0)" }.joined(separator: "\n"))
        }
        for change in promotion.changes where environment.resources[change.resource]?.model?.version != change.newVersion {
            throw EngineError("the promotion was not committed: after rewriting \(change.location), \(change.resource) would not pin version \(change.newVersion): this is a trueup bug, report it with the file")
        }
    }

    private func invalidEnvironment(_ name: String, option: String, _ desired: DesiredState, _ snapshot: SourceSnapshot) -> EngineError {
        let mine = desired.errors(concerning: name, specRoot: workspace.specRoot)
        guard !mine.isEmpty else {
            let known = desired.environments.keys.sorted()
            let guess = SchemaValidator.closest(to: name, in: known).map { "did you mean '\($0)'? " } ?? ""
            return EngineError("no valid environment named '\(name)' at \(snapshot.revision.shortCommit) (environments: \(known.isEmpty ? "none" : known.joined(separator: ", "))): \(guess)fix \(option)")
        }
        let shown = mine.prefix(10).map { "  \($0)" }.joined(separator: "\n")
        return EngineError("the specs of \(name) at \(snapshot.revision.shortCommit) are invalid, so nothing is promoted (\(mine.count) error\(mine.count == 1 ? "" : "s")):\n\(shown)\nrun `trueup validate` to see them all")
    }

    static func commitMessage(_ promotion: Promotion, from: String, to: String) -> String {
        let subject: String
        if promotion.changes.count == 1, let change = promotion.changes.first {
            subject = "Promote \(change.resource) \(change.newVersion) from \(from) to \(to)"
        } else {
            subject = "Promote \(promotion.changes.count) models from \(from) to \(to)"
        }
        let lines = promotion.changes.map { "- \($0.resource): version \($0.oldVersion) -> \($0.newVersion) (\($0.field), \($0.location))" }
        return ([subject, ""] + lines + ["", "Each version is the one live in \(from), written by `trueup promote --from \(from) --to \(to)`."]).joined(separator: "\n") + "\n"
    }
}
