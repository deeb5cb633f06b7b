import Foundation
import TrueupCore
import TrueupGit
import TrueupStore

/// observe -> plan -> apply for one environment at one revision.
///
/// Reads top to bottom like a Flux reconcile: guard, load, observe, plan, then apply each change
/// in dependency order, recording intent before every side effect and the outcome after, and
/// finally re-observe to record exactly what is now applied (the inventory drift and prune use).
public final class Reconciler: Sendable {
    public let workspace: Workspace
    /// Independent actions run in parallel, at most this many at once.
    public let maxParallel: Int

    /// Parsed documents cached by blob id across calls: a reconciler kept for a process's life
    /// (the controller) re-parses only the spec files whose blob changed; and the state folder's
    /// cache of them, so that a run re-parses only the files earlier runs did not see.
    private let loader: SharedSpecLoader

    /// Turns run outcomes into notifications, recorded with them (DESIGN §6).
    public let notifications: NotificationRecorder

    public init(workspace: Workspace, maxParallel: Int = 4, notifications: NotificationRecorder = .disabled) {
        self.workspace = workspace
        self.maxParallel = maxParallel
        self.notifications = notifications
        loader = SharedSpecLoader(cache: workspace.parsedSpecCache())
    }

    /// Loads the desired state of a snapshot through this reconciler's cache.
    public func loadDesiredState(_ snapshot: SourceSnapshot) throws -> DesiredState {
        try loader.load(snapshot, specRoot: workspace.specRoot)
    }

    /// Everything a plan was made from, kept so apply can act on exactly it.
    public struct Planned: Sendable {
        public var desired: DesiredState
        public var environment: DesiredEnvironment
        public var inputs: PlanningInputs
        public var observed: ObservedState
        public var applied: [ResourceID: AppliedResource]
        public var plan: Plan
        public var resolutions: [ResourceID: Resolution]
        public var backends: Backends
        /// What the plan is for: making the environment match git, or destroying it.
        public var purpose: Purpose = .converge
    }

    public enum Purpose: Sendable {
        /// Make the actual state match the desired state.
        case converge
        /// Remove what the environment manages (`trueup destroy`; see `Planner.destroyPlanWithResolutions`).
        case destroy
    }

    /// The destroy plan of `environment` at `revision`: shown, confirmed, then applied with
    /// `apply(_:)` like any approved plan.
    public func planDestroy(environment name: String, revision: String) async throws -> Planned {
        var planned = try await plan(environment: name, revision: revision)
        planned.purpose = .destroy
        let planner = Planner(environment: planned.environment, all: planned.desired.environments, inputs: planned.inputs,
                              observed: planned.observed, applied: planned.applied, commit: planned.plan.commit)
        (planned.plan, planned.resolutions) = planner.destroyPlanWithResolutions()
        return planned
    }

    /// Loads the desired state at `revision` and plans `environment` against what is observed.
    public func plan(environment name: String, revision: String) async throws -> Planned {
        let repository = try GitRepository(path: workspace.repositoryRoot)
        let snapshot = try repository.snapshot(at: revision)
        let desired = try loader.loadForPlanning(snapshot, specRoot: workspace.specRoot, environment: name)
        return try await plan(environment: name, desired: desired, snapshot: snapshot, revision: revision)
    }

    /// Plans `environment` of a desired state loaded before (the controller's, loaded once when its
    /// commit was fetched), at that state's own commit: git is opened only for the code trees and
    /// data blobs the plan reads, and the specs are not assembled again.
    public func plan(environment name: String, loaded desired: DesiredState) async throws -> Planned {
        let snapshot = try GitRepository(path: workspace.repositoryRoot).snapshot(at: desired.revision.commit)
        return try await plan(environment: name, desired: desired, snapshot: snapshot, revision: desired.revision.commit)
    }

    /// Plans `environment` of an already loaded desired state.
    public func plan(environment name: String, desired: DesiredState, snapshot: SourceSnapshot, revision: String,
                     observed presetObserved: (ObservedState, [ResourceID: AppliedResource])? = nil) async throws -> Planned {
        // Another environment's errors do not stop this one; its own (or its bases') do.
        guard let environment = desired.environments[name] else {
            let known = desired.environments.keys.sorted()
            let mine = desired.errors(concerning: name, specRoot: workspace.specRoot)
            let relevant = mine.isEmpty ? desired.errors : mine
            let at = snapshot.revision.commit == "worktree" ? "in the working tree" : "at \(snapshot.revision.shortCommit)"
            if relevant.isEmpty {
                throw EngineError("no environment named '\(name)' \(at) (environments: \(known.isEmpty ? "none" : known.joined(separator: ", "))): fix --env")
            }
            // A name that is not there is a typo in --env, not invalid specs.
            if relevant.count == 1, relevant[0].message.hasPrefix("no environment named '\(name)'") {
                throw EngineError(relevant[0].message)
            }
            let shown = relevant.prefix(10).map { "  \($0)" }.joined(separator: "\n")
            throw EngineError("the specs of \(name) at \(snapshot.revision.shortCommit) are invalid, so nothing is planned or applied for it (\(relevant.count) error\(relevant.count == 1 ? "" : "s")):\n\(shown)\nrun `trueup validate \(revision == "worktree" ? "--worktree" : "--rev \(revision)")` to see them all")
        }
        let backends = try workspace.backends(for: environment.settings)
        let applied: [ResourceID: AppliedResource]
        let observed: ObservedState
        let inputs: PlanningInputs
        // Which jobs the environment uses is a pass over its resources that needs nothing else:
        // it runs on the core the observation leaves idle (waiting on the backends, or done)
        // instead of after the reading of git below, on this one.
        async let jobUse = Planner.jobUse(in: environment)
        if let presetObserved {
            (observed, applied) = presetObserved
            inputs = try PlanningInputs.gather(environment, snapshot: snapshot)
        } else {
            applied = try workspace.store.appliedResources(environment: name)
            // The backends are observed on another core while this one reads the code trees and
            // data blobs from git (the snapshot stays on this thread): the two are independent.
            async let observing = Observer(backends: backends).observe(environment, applied: applied)
            inputs = try PlanningInputs.gather(environment, snapshot: snapshot)
            observed = try await observing
        }
        let planner = Planner(environment: environment, all: desired.environments, inputs: inputs, observed: observed, applied: applied,
                              commit: snapshot.revision.commit, jobUse: await jobUse)
        let (plan, resolutions) = planner.planWithResolutions()
        return Planned(desired: desired, environment: environment, inputs: inputs, observed: observed, applied: applied, plan: plan, resolutions: resolutions, backends: backends)
    }

    /// Applies `environment` at `revision` without a preview (`apply --yes`): plans under the
    /// environment's lock and carries out that plan. With `saved`, the saved plan instead: rebuilt
    /// at its own commit and carried out only when a fresh observation makes exactly its changes.
    public func apply(
        environment name: String, revision: String, saved: Plan? = nil, trigger: String = "cli", lockWait: Double = 0,
        healDrift: Bool = true,
        progress: @escaping @Sendable (ApplyEvent) -> Void = { _ in }
    ) async throws -> ApplyResult {
        let lock = try EnvironmentLock(directory: workspace.paths.locks, environment: name, wait: lockWait)
        defer { withExtendedLifetime(lock) {} }
        try workspace.store.closeInterruptedRuns(environment: name, at: Date().timeIntervalSince1970)
        guard let saved else {
            let planned = try await plan(environment: name, revision: revision)
            return try await execute(planned, trigger: trigger, healDrift: healDrift, progress: progress)
        }
        if saved.environment != name {
            throw EngineError("the saved plan is for environment \(saved.environment), not \(name)")
        }
        let head = try GitRepository(path: workspace.repositoryRoot).resolve(revision).commit
        if saved.commit != head {
            throw EngineError("the saved plan is stale: it was made at \(saved.commit.prefix(12)), but \(revision) is now \(head.prefix(12)): run `trueup plan` again")
        }
        var planned = try await plan(environment: name, revision: saved.commit)
        guard planned.plan.observedFingerprint == saved.observedFingerprint else {
            throw EngineError("the saved plan is stale: \(Self.actualStateChanged(name))")
        }
        planned.plan = saved
        return try await execute(planned, trigger: trigger, healDrift: healDrift, progress: progress)
    }

    /// Applies exactly `approved`: the plan a user confirmed at the prompt, or the controller's
    /// decision. Nothing is loaded from git again. Under the environment's lock the actual state
    /// is observed once more; when that observation would make any other change than the
    /// approved ones (an alias moved, a run finished, a server died since), nothing runs and the
    /// user is asked to plan again. A commit that landed meanwhile is not applied: it stays
    /// pending for the next plan.
    public func apply(
        _ approved: Planned, trigger: String = "cli", lockWait: Double = 0, healDrift: Bool = true,
        progress: @escaping @Sendable (ApplyEvent) -> Void = { _ in }
    ) async throws -> ApplyResult {
        let name = approved.environment.name
        let lock = try EnvironmentLock(directory: workspace.paths.locks, environment: name, wait: lockWait)
        defer { withExtendedLifetime(lock) {} }
        try workspace.store.closeInterruptedRuns(environment: name, at: Date().timeIntervalSince1970)
        var current = try await reobserved(approved)
        guard current.plan.observedFingerprint == approved.plan.observedFingerprint else {
            throw EngineError(Self.actualStateChanged(name), actualStateMoved: true)
        }
        current.plan = approved.plan
        return try await execute(current, trigger: trigger, healDrift: healDrift, progress: progress)
    }

    static func actualStateChanged(_ environment: String) -> String {
        "the actual state of \(environment) changed since the plan was made: run `trueup plan` again"
    }

    /// `planned` made again from a fresh observation of the actual state: the same desired state,
    /// commit and planning inputs, so its changes differ from `planned`'s exactly when the actual
    /// state moved.
    func reobserved(_ planned: Planned) async throws -> Planned {
        let name = planned.environment.name
        let applied = try workspace.store.appliedResources(environment: name)
        let observed = try await Observer(backends: planned.backends).observe(planned.environment, applied: applied)
        let planner = Planner(environment: planned.environment, all: planned.desired.environments, inputs: planned.inputs,
                              observed: observed, applied: applied, commit: planned.plan.commit)
        let (plan, resolutions) = planned.purpose == .destroy ? planner.destroyPlanWithResolutions() : planner.planWithResolutions()
        var result = planned
        result.observed = observed
        result.applied = applied
        result.plan = plan
        result.resolutions = resolutions
        return result
    }

    /// Carries out `planned` (the caller holds the environment's lock), then records the run,
    /// the inventory and the environment's conditions.
    private func execute(
        _ planned: Planned, trigger: String, healDrift: Bool, progress: @escaping @Sendable (ApplyEvent) -> Void
    ) async throws -> ApplyResult {
        var planned = planned
        let name = planned.environment.name
        if !healDrift {
            // The controller on its own heals drift only where selfHeal is on (DESIGN §3).
            for i in planned.plan.changes.indices where planned.plan.changes[i].drift {
                planned.plan.changes[i].action = .noop
                planned.plan.changes[i].reasons.append("drift left as it is: selfHeal is off in this environment")
            }
        }
        let store = workspace.store
        let plan = planned.plan
        let revisionInfo = try GitRepository(path: workspace.repositoryRoot).resolve(plan.commit)
        let now = Date().timeIntervalSince1970
        try store.recordAttempt(environment: name, commit: plan.commit, at: now)
        let runID = try store.startRun(environment: name, trigger: trigger, revision: revisionInfo, planJSON: try PlanJSON.encode(plan),
                                       logDirectory: workspace.paths.logs, at: now) { runID in
            notifications.started(planned, revision: revisionInfo, runID: runID, at: now)
        }

        let executor = Executor(
            workspace: workspace, planned: planned, runID: runID, progress: progress)
        let outcome = await executor.run(maxParallel: maxParallel)
        if planned.purpose == .destroy {
            return try finishDestroy(planned, runID: runID, outcome: outcome)
        }

        // Level-based bookkeeping: observe once more and record as applied whatever now matches
        // (planned in memory from the same desired state: nothing is read from git again).
        let after = try await reobserved(planned)
        let finished = Date().timeIntervalSince1970
        for change in after.plan.changes where change.action == .noop {
            guard let resource = after.environment.resources[change.resource], let summary = change.after,
                  !summary.canonicalJSON.contains(PlannedChange.knownAfterApply) else { continue }
            try store.recordApplied(Self.applied(resource, summary: summary, planned: after, at: finished))
        }
        for id in outcome.deleted { try store.forgetApplied(environment: name, id: id) }
        let ok = outcome.failures.isEmpty && outcome.skipped.isEmpty
        let outcomeNotifications = notifications.enabled
            ? notifications.finished(planned, revision: revisionInfo, runID: runID, actions: try store.actions(runID: runID),
                                     gates: executor.failedGates.all, ok: ok, at: finished)
            : []
        let telling = notifications.enabled && !planned.environment.settings.notify.isEmpty
        if !telling {
            try store.finishRun(runID, outcome: ok ? "succeeded" : "failed", at: finished)
        } else if ok && !plan.hasChanges {
            // Nothing to change: the commit's status is told once, not at every re-apply.
            try store.finishRun(runID, outcome: "succeeded", at: finished)
            try store.recordNotifications(outcomeNotifications, environment: name, topic: NotificationRecorder.commitTopic, value: plan.commit, at: finished)
        } else {
            try store.finishRun(runID, outcome: ok ? "succeeded" : "failed", at: finished, notifications: outcomeNotifications)
            try store.recordNotifications([], environment: name, topic: NotificationRecorder.commitTopic, value: plan.commit, at: finished)
        }
        let remaining = after.plan.changes.filter { $0.action != .noop }
        let conditions = [
            Condition(type: "Ready", status: ok && remaining.isEmpty, reason: ok ? (remaining.isEmpty ? "Applied" : "Pending") : "ApplyFailed",
                      message: ok ? "applied \(plan.commit.prefix(12))" : outcome.failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "),
                      since: finished),
        ]
        if ok {
            try store.recordApplied(environment: name, commit: plan.commit, at: finished, conditions: conditions)
        } else {
            try store.setConditions(environment: name, conditions)
        }
        return ApplyResult(runID: runID, plan: plan, failures: outcome.failures, skipped: outcome.skipped)
    }

    /// After a destroy, the environment manages nothing: its inventory is forgotten (all of it
    /// once every removal succeeded, else what was removed), so the next plan creates everything
    /// again, and its conditions say it was destroyed.
    private func finishDestroy(_ planned: Planned, runID: Int64, outcome: Executor.Outcome) throws -> ApplyResult {
        let store = workspace.store
        let name = planned.environment.name
        let plan = planned.plan
        let finished = Date().timeIntervalSince1970
        let ok = outcome.failures.isEmpty && outcome.skipped.isEmpty
        let forgotten = ok ? Array(try store.appliedResources(environment: name).keys) : outcome.deleted
        for id in forgotten { try store.forgetApplied(environment: name, id: id) }
        try store.finishRun(runID, outcome: ok ? "succeeded" : "failed", at: finished)
        let message = ok
            ? "destroyed at \(plan.commit.prefix(12)): `trueup apply --env \(name)` creates it again"
            : outcome.failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        try store.setConditions(environment: name, [Condition(type: "Ready", status: false, reason: ok ? "Destroyed" : "DestroyFailed", message: message, since: finished)])
        return ApplyResult(runID: runID, plan: plan, failures: outcome.failures, skipped: outcome.skipped)
    }

    /// What is kept of an applied resource at `planned`'s commit: its summary (compared for
    /// drift), its spec (for field-level reasons), what identifies it in a registry, and for a job
    /// the code tree and input versions it ran with (for the reasons of its next run).
    static func applied(_ resource: Resource, summary: JSONValue, planned: Planned, at time: Double) -> AppliedResource {
        let resolver = Resolver(environment: planned.environment, inputs: planned.inputs, commit: planned.plan.commit)
        let registered = resource.registryEntry != nil
        return AppliedResource(
            environment: planned.environment.name, id: resource.id, summary: summary, spec: resource.spec,
            registryName: registered ? resource.registryName : nil,
            alias: registered ? resource.alias : nil,
            codeTree: resource.typed.code.flatMap { planned.inputs.codeTrees[$0] },
            inputs: resource.id.kind == .job ? resolver.inputVersions(of: resource, planned.resolutions) : nil,
            appliedCommit: planned.plan.commit, appliedAt: time)
    }
}

/// One SpecLoader shared by the tasks of a reconciler; the lock serialises its cache.
private final class SharedSpecLoader: @unchecked Sendable {
    private let lock = NSLock()
    private let loader: SpecLoader

    init(cache: ParsedSpecCache?) {
        loader = SpecLoader(cache: cache)
    }

    func load(_ snapshot: SourceSnapshot, specRoot: String) throws -> DesiredState {
        lock.lock()
        defer { lock.unlock() }
        return try loader.load(snapshot, specRoot: specRoot)
    }

    func loadForPlanning(_ snapshot: SourceSnapshot, specRoot: String, environment: String) throws -> DesiredState {
        lock.lock()
        defer { lock.unlock() }
        return try loader.loadForPlanning(snapshot, specRoot: specRoot, environment: environment)
    }
}

public enum PlanJSON {
    public static func encode(_ plan: Plan) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(plan), as: UTF8.self)
    }

    public static func decode(_ data: Data, file: String) throws -> Plan {
        do {
            return try JSONDecoder().decode(Plan.self, from: data)
        } catch {
            throw EngineError("\(file) is not a trueup plan (\(error)): make one with `trueup plan --env ENV -o \(file)`")
        }
    }
}
