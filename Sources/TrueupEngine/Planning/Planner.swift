import Foundation
import TrueupCore

/// plan(desired, observed, applied) -> Plan. Pure: every fact it needs is passed in.
///
/// Each resource gets a summary of what it should be (`after`) and of what is (`before`). Equal
/// summaries mean nothing to do. Otherwise the change is *drift* when the desired summary is the
/// one trueup last applied (git did not move, reality did), and a pending change when it is not.
public struct Planner: Sendable {
    let environment: DesiredEnvironment
    let all: [String: DesiredEnvironment]
    let inputs: PlanningInputs
    let observed: ObservedState
    let applied: [ResourceID: AppliedResource]
    let commit: String
    let resolver: Resolver
    /// Jobs something in the environment uses (see `unusedJobWarning`).
    let usedJobs: Set<String>
    /// Jobs whose output some resource claims (`fromJob`): they must run even when `trigger: manual`.
    let claimedJobs: Set<String>

    /// `jobUse`: what `Planner.jobUse(in: environment)` gives, when the caller found it already
    /// (while it waited on the backends).
    public init(environment: DesiredEnvironment, all: [String: DesiredEnvironment], inputs: PlanningInputs,
                observed: ObservedState, applied: [ResourceID: AppliedResource], commit: String,
                jobUse: (used: Set<String>, claimed: Set<String>)? = nil) {
        self.environment = environment
        self.all = all
        self.inputs = inputs
        self.observed = observed
        self.applied = applied
        self.commit = commit
        self.resolver = Resolver(environment: environment, inputs: inputs, commit: commit)
        (self.usedJobs, self.claimedJobs) = jobUse ?? Self.jobUse(in: environment)
    }

    static let kaa = JSONValue.string(PlannedChange.knownAfterApply)

    public func plan(now: Double = Date().timeIntervalSince1970) -> Plan {
        planWithResolutions(now: now).0
    }

    /// The plan and, for each resource, what is already known of it (the executor starts from these).
    ///
    /// A resource is planned from its dependencies' resolutions alone, so the resources of one
    /// dependency level (see `levels`) are planned on every core at once. The changes come out in
    /// `environment.order` all the same. At 33,000 resources, planning them one after the other
    /// was a fifth of a plan, with the second core idle.
    public func planWithResolutions(now: Double = Date().timeIntervalSince1970) -> (Plan, [ResourceID: Resolution]) {
        let order = environment.order
        var resolved: [ResourceID: Resolution] = [:]
        resolved.reserveCapacity(order.count)
        var planned = [PlannedChange?](repeating: nil, count: order.count)
        for level in Self.levels(of: environment) {
            // `resolved` is captured as it is before this level, and released when the map
            // returns, so that adding the level's resolutions does not copy it. A small level is
            // one range, planned on this thread.
            var pieces = EveryCore.map(rangesOf: level.count, atLeast: Self.levelWorthSpreading / 2) { [self, resolved] range in
                // Read in place through its index: the dictionary's getter returns a copy, a
                // retain (and a release) of every field of the resource.
                range.map { position -> (PlannedChange?, Resolution?) in
                    let (change, resolution) = planResource(environment.resources.values[environment.resources.index(forKey: order[level[position]])!], resolved)
                    return (change, resolution)
                }
            }
            // Moved out of the pieces, not copied (optionals, so that they can be taken).
            var next = level.makeIterator()
            for piece in pieces.indices {
                for index in pieces[piece].indices {
                    let position = next.next()!
                    swap(&planned[position], &pieces[piece][index].0)
                    resolved[order[position]] = pieces[piece][index].1.take()
                }
            }
        }
        // Moved out, not copied: a copy retains every field of every change, and then the
        // optional array releases them all.
        var changes: [PlannedChange] = []
        changes.reserveCapacity(planned.count)
        for position in planned.indices { changes.append(planned[position].take()!) }
        changes += pruneChanges()
        return (Plan(environment: environment.name, commit: commit, createdAt: now,
                     observedFingerprint: Self.fingerprint(changes), changes: changes), resolved)
    }

    /// Below this many resources a level is planned on one core: spreading it costs more than it saves.
    static let levelWorthSpreading = 512

    /// Positions in `environment.order`, by dependency level: a resource's level is one more than
    /// its deepest dependency's, so every dependency of a level is in an earlier one. Each level
    /// keeps the order's order.
    static func levels(of environment: DesiredEnvironment) -> [[Int]] {
        // Found with the order when the environment was built; found here, by identity, for an
        // environment whose resources were changed since.
        if !environment.levels.isEmpty { return environment.levels }
        var depth: [ResourceID: Int] = [:]
        depth.reserveCapacity(environment.order.count)
        var levels: [[Int]] = []
        for (position, id) in environment.order.enumerated() {
            var level = 0
            for dependency in environment.resources[id]?.dependencies ?? [] {
                if let below = depth[dependency] { level = max(level, below + 1) }
            }
            depth[id] = level
            if level == levels.count { levels.append([]) }
            levels[level].append(position)
        }
        return levels
    }

    /// What the plan was made against: every change's observed before-state with what it would
    /// do. A saved plan is stale exactly when a fresh plan at the same commit differs in these,
    /// so applying the fresh one is applying the saved one. (Encoding the whole observed state
    /// instead took a fifth of a no-op plan, and made a plan stale on details no change reads.)
    /// The lines are written on every core, then hashed in order.
    static func fingerprint(_ changes: [PlannedChange]) -> String {
        let pieces = EveryCore.map(rangesOf: changes.count, atLeast: 2048) { range in
            // Appended piece by piece: joining each line's pieces with `+` made a string per piece.
            var text = ""
            for change in changes[range] {
                text += change.resource.kind.rawValue
                text += "/"
                text += change.resource.name
                text += "\t"
                text += change.action.rawValue
                text += change.drift ? "\tdrift\t" : "\t"
                if let before = change.before { before.writeCanonicalJSON(to: &text) } else { text += "-" }
                text += "\t"
                if let after = change.after { after.writeCanonicalJSON(to: &text) } else { text += "-" }
                text += "\n"
            }
            return text
        }
        return ContentDigest.sha256(pieces.count == 1 ? pieces[0] : pieces.joined())
    }

    func planResource(_ resource: Resource, _ resolved: [ResourceID: Resolution]) -> (PlannedChange, Resolution) {
        switch resource.typed {
        case .dataset(let spec): return planDataset(resource, spec, resolved)
        case .job(let spec): return planJob(resource, spec, resolved)
        case .model(let spec): return planModel(resource, spec, resolved)
        case .prompt(let spec): return planPrompt(resource, spec, resolved)
        case .deployment(let spec): return planDeployment(resource, spec, resolved)
        }
    }

    /// Turns before/after summaries into a change, classifying drift and explaining why.
    func change(_ resource: Resource, before: JSONValue?, after: JSONValue, matches: Bool, problem: String? = nil, extraReasons: [String] = [], action forced: PlannedChange.Action? = nil) -> PlannedChange {
        let last = applied[resource.id]
        var fields = FieldChange.diff(before, after)
        // What changed in git since the last apply, field by field (DESIGN §5 (a) reads the same).
        // Hashes first: the applied spec is parsed only when it differs.
        if let last, !last.specMatches(resource.spec), let lastSpec = last.spec {
            fields += FieldChange.diff(lastSpec, resource.spec, path: "spec")
        }
        if matches {
            return PlannedChange(resource: resource.id, action: .noop, before: before, after: after, dependsOn: resource.dependencies)
        }
        let drift = last?.summaryMatches(after) == true && before != nil
        var reasons = extraReasons
        if let problem { reasons.insert(problem, at: 0) }
        let specFields = fields.filter { $0.path.hasPrefix("spec.") }.map(\.path)
        if !specFields.isEmpty {
            reasons.insert("its spec changed in git (\(specFields.prefix(5).joined(separator: ", "))\(specFields.count > 5 ? ", ..." : ""))", at: 0)
        }
        if drift { reasons.insert("drift: the actual state changed since trueup applied it at \(String(last!.appliedCommit.prefix(12)))", at: 0) }
        else if last == nil && before == nil { reasons.append("it does not exist yet") }
        let action = forced ?? (before == nil ? .create : .update)
        return PlannedChange(resource: resource.id, action: action, drift: drift, before: before, after: after, fields: fields, reasons: reasons, dependsOn: resource.dependencies)
    }

    // MARK: - Kinds

    func planDataset(_ r: Resource, _ spec: DatasetSpec, _ resolved: [ResourceID: Resolution]) -> (PlannedChange, Resolution) {
        var desired: String?
        var reasons: [String] = []
        switch spec.source {
        case .path(let path)?:
            desired = inputs.fileDigests[path]
        case .uri?:
            desired = spec.sha256
        case .fromJob(let job)?:
            // The version is what the job's run for this commit produced, once it has run.
            if let identity = resolved[ResourceID(.job, job)]?.version, let current = observed.datasets[r.id.name]?.current, current.producingRun == identity {
                desired = current.version
            } else {
                reasons.append("its data comes from Job/\(job), which must run first")
            }
        case nil:
            break
        }
        let seen = observed.datasets[r.id.name]
        let before: JSONValue? = seen.map { .object(["version": .string($0.problem == nil ? $0.current.version : "(modified)")]) }
        let after: JSONValue = .object(["version": desired.map(JSONValue.string) ?? Self.kaa])
        let matches = desired != nil && seen?.current.version == desired && seen?.problem == nil
        let resolution = Resolution(version: desired, location: matches ? seen?.current.location : nil)
        return (change(r, before: before, after: after, matches: matches, problem: seen?.problem, extraReasons: reasons), resolution)
    }

    func planJob(_ r: Resource, _ spec: JobSpec, _ resolved: [ResourceID: Resolution]) -> (PlannedChange, Resolution) {
        let identity = resolver.jobIdentity(r, resolved)
        let after: JSONValue = .object(["identity": identity.map(JSONValue.string) ?? Self.kaa])
        var run: JobRunRecord?
        if let identity {
            do {
                run = try observed.jobRuns.run(identity)
            } catch {
                // Only this job's record is unreadable: what it did is unknown, so it neither runs
                // again nor counts as done; the rest of the environment plans as usual.
                let reason = error is JobRunHistory.RunNotFetched
                    ? "the record of its run \(identity.prefix(12)) was not sent with the state: \(error)"
                    : "the record of its run \(identity.prefix(12)) cannot be read (\(error)): restore the state folder from a backup, or delete that run (table job_runs) from the state folder's state.db so that the job runs again"
                return (PlannedChange(resource: r.id, action: .blocked, before: applied[r.id]?.summary, after: after, reasons: [reason], dependsOn: r.dependencies),
                        Resolution(version: identity, location: nil))
            }
        }
        let resolution = Resolution(version: identity, location: run?.status == .succeeded ? run?.outputLocation : nil)
        let lastIdentity = applied[r.id]?.summary
        if spec.trigger == .manual && !claimedJobs.contains(r.id.name) {
            // Runs only as a gate, with a candidate; nothing to do on its own.
            return (PlannedChange(resource: r.id, action: .noop, before: lastIdentity, after: after, reasons: ["trigger is manual: it runs only as a gate"], dependsOn: r.dependencies), resolution)
        }
        if let run, run.status == .succeeded {
            return (PlannedChange(resource: r.id, action: .noop, before: after, after: after, dependsOn: r.dependencies), resolution)
        }
        var reasons: [String] = []
        if identity == nil {
            reasons.append("an input is known only after apply")
        } else if let run, run.status == .failed {
            reasons.append("its last run with this identity failed (\(run.error ?? "exit \(run.exitCode ?? -1)")): trying again")
        } else if let run, run.status == .running {
            reasons.append("a run with this identity is still in progress: it will be waited for, not started again")
        }
        if let last = applied[r.id] {
            if let oldTree = last.codeTree, oldTree != inputs.codeTrees[spec.code] {
                let code = spec.code
                reasons.append("code \(code) changed (tree \(oldTree.prefix(10)) -> \((inputs.codeTrees[code] ?? "").prefix(10)))")
            }
            if let oldInputs = last.inputs, let versions = resolver.inputVersions(of: r, resolved) {
                for (name, version) in versions.sorted(by: { $0.key < $1.key }) where oldInputs[name] != version {
                    reasons.append("input \(name) changed to \(version.prefix(12))")
                }
            }
        } else if reasons.isEmpty {
            reasons.append("it has not run for this code and these inputs")
        }
        var change = change(r, before: lastIdentity, after: after, matches: false, extraReasons: reasons, action: .run)
        change.drift = false
        change.warning = unusedJobWarning(r)
        return (change, resolution)
    }

    func modelCandidate(_ spec: ModelSpec, _ resolved: [ResourceID: Resolution], registry: RegistryState.Model?) -> (version: String?, reason: String?) {
        switch spec.source {
        case .version(let version)?:
            return (version, nil)
        case .fromJob(let job)?:
            guard let identity = resolved[ResourceID(.job, job)]?.version else { return (nil, "its version is what Job/\(job) produces, once it has run") }
            let version = registry?.versions.values.first { $0.tags["trueup.source"] == "job:\(identity)" }?.version
            return (version, version == nil ? "Job/\(job) produces a new version for this commit" : nil)
        case .artifact(let artifact)?:
            let version = registry?.versions.values.first { $0.tags["trueup.source"] == "artifact:\(artifact)" }?.version
            return (version, version == nil ? "artifact \(artifact) is registered as a new version" : nil)
        case nil:
            return (nil, nil)
        }
    }

    func planModel(_ r: Resource, _ spec: ModelSpec, _ resolved: [ResourceID: Resolution]) -> (PlannedChange, Resolution) {
        let name = r.registryName
        let alias = r.alias
        let registry = observed.registry.models[name]
        let (candidate, why) = modelCandidate(spec, resolved, registry: registry)
        let current = registry?.aliases[alias]
        let before: JSONValue? = current.map { .object(["alias": .string(alias), "version": .string($0)]) }
        let after: JSONValue = .object(["alias": .string(alias), "version": candidate.map(JSONValue.string) ?? Self.kaa])
        let info = candidate.flatMap { registry?.versions[$0] }
        let resolution = Resolution(version: candidate, location: info?.location)
        var reasons = why.map { [$0] } ?? []
        if let candidate, spec.version != nil {
            if info == nil {
                return (PlannedChange(resource: r.id, action: .blocked, before: before, after: after,
                                      reasons: ["version \(candidate) of model \(name) does not exist in the registry: register it or fix spec.version"],
                                      dependsOn: r.dependencies), resolution)
            }
            if let blocked = promotionProblem(kind: .model, resource: r, version: candidate, tags: info?.tags ?? [:]) {
                return (PlannedChange(resource: r.id, action: .blocked, before: before, after: after, reasons: [blocked], dependsOn: r.dependencies), resolution)
            }
        }
        if let gates = gateSummary(spec.gates) { reasons.append("gates must pass first: \(gates)") }
        if let info, info.tags["trueup.gates.\(environment.name)"] == "failed", current != candidate {
            reasons.append("gates failed for version \(candidate!) before: \(info.tags["trueup.gates.\(environment.name).reason"] ?? "see history")")
        }
        let matches = candidate != nil && current == candidate
        return (change(r, before: before, after: after, matches: matches, extraReasons: reasons), matches ? resolution : Resolution(version: candidate, location: info?.location))
    }

    func planPrompt(_ r: Resource, _ spec: PromptSpec, _ resolved: [ResourceID: Resolution]) -> (PlannedChange, Resolution) {
        let name = r.registryName
        let alias = r.alias
        let registry = observed.registry.prompts[name]
        let (template, config) = resolver.promptContent(r)
        let hash = PromptContent.hash(template: template, config: config)
        let existing = registry?.versions.values.first { $0.contentHash == hash }
        let current = registry?.aliases[alias]
        let before: JSONValue? = current.map { .object(["alias": .string(alias), "version": .string($0)]) }
        let after: JSONValue = .object(["alias": .string(alias), "version": existing.map { .string($0.version) } ?? Self.kaa])
        var reasons: [String] = existing == nil ? ["the template or its config changed: a new immutable version is created"] : []
        if let gates = gateSummary(spec.gates) { reasons.append("gates must pass first: \(gates)") }
        if let existing, let blocked = promotionProblem(kind: .prompt, resource: r, version: existing.version, tags: existing.tags) {
            return (PlannedChange(resource: r.id, action: .blocked, before: before, after: after, reasons: [blocked], dependsOn: r.dependencies), Resolution(version: existing.version))
        }
        let matches = existing != nil && current == existing?.version
        return (change(r, before: before, after: after, matches: matches, extraReasons: reasons), Resolution(version: existing?.version, location: nil))
    }

    func planDeployment(_ r: Resource, _ spec: DeploymentSpec, _ resolved: [ResourceID: Resolution]) -> (PlannedChange, Resolution) {
        let asset = spec.serves
        let assetVersion = asset.flatMap { resolved[$0]?.version }
        let hash = assetVersion.map { resolver.deploymentHash(r, assetVersion: $0) }
        let seen = observed.deployments[r.id.name]
        let before: JSONValue? = seen.map { .object(["config": .string(String($0.configHash.prefix(16))), "serves": .string($0.assetVersion), "state": .string($0.problem == nil ? "serving" : "down")]) }
        let after: JSONValue = .object([
            "config": hash.map { .string(String($0.prefix(16))) } ?? Self.kaa,
            "serves": assetVersion.map(JSONValue.string) ?? Self.kaa,
            "state": .string("serving"),
        ])
        var reasons: [String] = []
        if assetVersion == nil, let asset { reasons.append("it serves \(asset), whose version is known after apply") }
        let matches = hash != nil && seen?.configHash == hash && seen?.problem == nil
        return (change(r, before: before, after: after, matches: matches, problem: seen?.problem, extraReasons: reasons), Resolution(version: hash, location: seen?.endpoint))
    }

    /// The gates as a plan shows them, or nil when there are none.
    func gateSummary(_ gates: [Gate]) -> String? {
        gates.isEmpty ? nil : gates.map(\.summary).joined(separator: "; ")
    }

    /// `promotion.from`: a pinned version must be live in the source environment and have passed its gates there.
    func promotionProblem(kind: ResourceKind, resource: Resource, version: String, tags: [String: String]) -> String? {
        guard let from = environment.settings.promotionFrom else { return nil }
        let sourceResource = all[from]?.resources[resource.id]
        let sourceAlias = sourceResource?.alias ?? from
        let name = resource.registryName
        let live = kind == .model ? observed.registry.models[name]?.aliases[sourceAlias] : observed.registry.prompts[name]?.aliases[sourceAlias]
        guard live == version else {
            return "promotion from \(from): version \(version) is not live in \(from) (its alias '\(sourceAlias)' points at \(live ?? "nothing")): promote what \(from) runs with `trueup promote --from \(from) --to \(environment.name)`"
        }
        if tags["trueup.gates.\(from)"] == "failed" {
            return "promotion from \(from): version \(version) failed its gates in \(from)"
        }
        return nil
    }

    /// Resources trueup applied that git no longer declares.
    func pruneChanges() -> [PlannedChange] {
        var result: [PlannedChange] = []
        // Only what was removed from git is sorted: sorting every applied resource (a copy of
        // each one's state) to find the usual none was a fortieth of a pull-request report.
        for id in applied.keys.filter({ environment.resources[$0] == nil }).sorted() {
            guard let last = applied[id] else { continue }
            if environment.settings.prune && !environment.resources.isEmpty {
                result.append(PlannedChange(resource: id, action: .delete, before: last.summary, after: nil,
                                            reasons: ["it was removed from git and the environment has prune: true"]))
            } else {
                result.append(PlannedChange(resource: id, action: .noop, before: last.summary, after: last.summary,
                                            reasons: ["it was removed from git, but prune is off: it is left as it is (set spec.prune: true to delete it)"]))
            }
        }
        return result
    }
}
