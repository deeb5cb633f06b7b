import Foundation
import Logging
import TrueupCore
import TrueupEngine
import TrueupStore

/// How one reconcile of one environment ended.
struct ReconcileOutcome: Sendable {
    enum Result: String, Sendable, Codable {
        /// Nothing to do: actual state matches git.
        case inSync = "InSync"
        case applied = "Applied"
        case applyFailed = "ApplyFailed"
        /// `sync: manual`: the plan waits for someone to apply it.
        case pendingManualSync = "PendingManualSync"
        /// A deny window is open (or no allow window is): the plan waits.
        case syncWindowClosed = "SyncWindowClosed"
        /// Only blocked changes (for example a promotion not yet possible): nothing can be applied.
        case blocked = "Blocked"
        /// Drift exists but `selfHeal` is off: reported, not corrected.
        case driftNotHealed = "DriftNotHealed"
        /// Planning itself failed (a backend unreachable, the lock held for too long, ...).
        case failed = "ReconcileFailed"
        /// This controller lost the leader lease: it wrote nothing more.
        case fencedOut = "FencedOut"

        /// The `outcome` label of `trueup_reconciles_total`.
        var metricLabel: String {
            switch self {
            case .inSync: "in_sync"
            case .applied: "applied"
            case .applyFailed: "apply_failed"
            case .pendingManualSync: "pending_manual"
            case .syncWindowClosed: "window_closed"
            case .blocked: "blocked"
            case .driftNotHealed: "drift_not_healed"
            case .failed: "failed"
            case .fencedOut: "fenced_out"
            }
        }
    }

    var result: Result
    var message: String
    var plan: Plan?
    var drift: [DriftEntry] = []
    var runID: Int64?
    /// After an apply: the resources that failed or were not applied, with why.
    var failed: [ResourceID: String] = [:]

    var succeeded: Bool { result != .applyFailed && result != .failed && result != .fencedOut }
    var changedSomething: Bool { result == .applied || result == .applyFailed }
}

/// One reconcile of one environment, level-based: plan against what is observed now, then apply,
/// or record why not. Reads top to bottom: plan, decide, act, record (status, metrics, logs).
struct EnvironmentReconciliation: Sendable {
    let context: ControllerContext
    let environment: TrackedEnvironment
    let reason: Scheduler.Reason

    var name: String { environment.name }
    var settings: EnvironmentSettings { environment.settings }
    var store: StateStore { context.workspace.store }

    func run(now: @Sendable () -> Double = { Date().timeIntervalSince1970 }) async -> ReconcileOutcome {
        let started = now()
        var outcome: ReconcileOutcome
        do {
            outcome = try await reconcile(now: now)
            try record(outcome, at: now())
        } catch let fenced as FencedOut {
            outcome = ReconcileOutcome(result: .fencedOut, message: fenced.description)
        } catch {
            outcome = ReconcileOutcome(result: .failed, message: "reconcile of \(name) at \(environment.revision.shortCommit) failed: \(error)")
            do {
                try record(outcome, at: now())
            } catch let fenced as FencedOut {
                outcome = ReconcileOutcome(result: .fencedOut, message: fenced.description)
            } catch {
                context.logger.error("cannot record the status of \(name): \(error)")
            }
        }
        let seconds = now() - started
        context.metrics.reconciled(environment: name, outcome: outcome.result.metricLabel, seconds: seconds)
        log(outcome, seconds: seconds)
        return outcome
    }

    private func reconcile(now: () -> Double) async throws -> ReconcileOutcome {
        do {
            return try await planAndApply(now: now)
        } catch let error as EngineError where error.actualStateMoved {
            // Someone else applied (or something changed) between this plan and the lock: decide
            // again, once, on what is there now, rather than wait for the retry backoff.
            context.logger.info("the actual state changed between the plan and the lock: planning again", metadata: ["environment": "\(name)"])
            return try await planAndApply(now: now)
        }
    }

    private func planAndApply(now: () -> Double) async throws -> ReconcileOutcome {
        // The desired state loaded when its commit was fetched: a reconcile does not load it again.
        let planned = try await context.reconciler.plan(environment: name, loaded: environment.state)
        let plan = planned.plan
        let drift = DriftDetector.drift(planned)

        // Drift is corrected only where the environment asks for it (DESIGN §3).
        let actionable = plan.changes.filter { $0.action != .noop && (settings.selfHeal || !$0.drift) }
        if actionable.isEmpty {
            let result: ReconcileOutcome.Result = drift.isEmpty ? .inSync : .driftNotHealed
            let message = drift.isEmpty ? "in sync with \(environment.revision.shortCommit)"
                : "\(drift.count) resource\(drift.count == 1 ? "" : "s") drifted; selfHeal is off, so they are reported, not corrected"
            return ReconcileOutcome(result: result, message: message, plan: plan, drift: drift)
        }
        if actionable.allSatisfy({ $0.action == .blocked }) {
            let why = actionable.first?.reasons.first ?? "see the plan"
            return ReconcileOutcome(result: .blocked, message: "\(actionable.count) change\(actionable.count == 1 ? " is" : "s are") blocked: \(why)", plan: plan, drift: drift)
        }
        if settings.sync != .auto && reason != .syncRequested {
            return ReconcileOutcome(result: .pendingManualSync, message: "\(PlanRenderer.summary(of: actionable)) pending: sync is manual; apply with `trueup apply --env \(name)` or POST /api/v1/environments/\(name)/sync", plan: plan, drift: drift)
        }
        let window = SyncWindows.evaluate(settings.windows, at: now())
        if !window.allowed {
            return ReconcileOutcome(result: .syncWindowClosed, message: "\(PlanRenderer.summary(of: actionable)) pending: \(window.reason ?? "a sync window is closed")", plan: plan, drift: drift)
        }

        // The plan just decided on is the one applied (one load, one observation, one plan):
        // under the lock the apply observes once more and refuses if the actual state moved.
        let result = try await context.reconciler.apply(
            planned, trigger: "controller (\(reason.rawValue))", lockWait: 60, healDrift: settings.selfHeal)
        let failed = result.failures.count + result.skipped.count
        if failed == 0 {
            return ReconcileOutcome(result: .applied, message: "applied \(environment.revision.shortCommit): \(PlanRenderer.summary(of: actionable)) (run \(result.runID))",
                                    plan: result.plan, drift: settings.selfHeal ? [] : drift, runID: result.runID)
        }
        let first = (result.failures.sorted { $0.key < $1.key }.first.map { "\($0.key): \($0.value)" })
            ?? result.skipped.sorted { $0.key < $1.key }.first.map { "\($0.key) not applied: \($0.value)" } ?? ""
        return ReconcileOutcome(result: .applyFailed, message: "apply of \(environment.revision.shortCommit) finished with \(result.failures.count) failed and \(result.skipped.count) not applied (run \(result.runID)); \(first)",
                                plan: result.plan, drift: drift, runID: result.runID, failed: result.failures.merging(result.skipped) { a, _ in a })
    }

    /// Status in the store (pending plan, conditions), metrics and the loop's view, whatever happened.
    private func record(_ outcome: ReconcileOutcome, at time: Double) throws {
        let waiting = [.pendingManualSync, .syncWindowClosed, .blocked].contains(outcome.result)
        try store.setPendingPlan(environment: name, json: waiting ? try outcome.plan.map(PlanJSON.encode) : nil)

        var conditions: [Condition] = []
        if outcome.result != .applied && outcome.result != .applyFailed {
            // After an apply, the engine has written Ready itself.
            let ready = outcome.result == .inSync || outcome.result == .driftNotHealed
            conditions.append(Condition(type: "Ready", status: ready, reason: outcome.result.rawValue, message: outcome.message, since: time))
        }
        conditions.append(Condition(
            type: "Drifted", status: !outcome.drift.isEmpty, reason: outcome.drift.isEmpty ? "NoDrift" : (settings.selfHeal ? "DriftFound" : "DriftNotHealed"),
            message: outcome.drift.map { "\($0.resource): \($0.description)" }.joined(separator: "; "), since: time))
        // The loop may have fetched since this reconcile began: say what is true now.
        conditions.append(sourceCondition(context.status.snapshot.environments[name]?.tracked ?? environment, at: time))
        try ConditionBook(store: store).merge(environment: name, conditions)
        try recordNotifications(outcome, at: time)

        var byKind: [ResourceKind: Int] = [:]
        for entry in outcome.drift { byKind[entry.resource.kind, default: 0] += 1 }
        context.metrics.drift(environment: name, byKind: byKind)
        context.metrics.pendingChanges(environment: name, waiting ? outcome.plan?.changes.filter { $0.action != .noop }.count ?? 0 : 0)
        if let status = try store.environmentStatus(name), let commit = status.lastAppliedCommit {
            context.metrics.lastApplied(environment: name, commit: commit, at: status.lastAppliedAt ?? time)
        }
    }

    private func log(_ outcome: ReconcileOutcome, seconds: Double) {
        let metadata: Logger.Metadata = [
            "environment": "\(name)", "reason": "\(reason.rawValue)", "revision": "\(environment.revision.shortCommit)",
            "outcome": "\(outcome.result.rawValue)", "seconds": "\(String(format: "%.2f", seconds))",
        ]
        switch outcome.result {
        case .applyFailed, .failed, .fencedOut: context.logger.error("\(outcome.message)", metadata: metadata)
        case .driftNotHealed, .syncWindowClosed, .blocked: context.logger.warning("\(outcome.message)", metadata: metadata)
        default: context.logger.info("\(outcome.message)", metadata: metadata)
        }
    }
}

/// `SourceReady`: whether the environment follows the newest commit of the branch, or is kept at
/// its last good revision (and why).
func sourceCondition(_ environment: TrackedEnvironment, at time: Double) -> Condition {
    if let problem = environment.problem {
        return Condition(type: "SourceReady", status: false, reason: "InvalidCommit",
                         message: "kept at its last good revision \(environment.revision.shortCommit): \(problem)", since: time)
    }
    return Condition(type: "SourceReady", status: true, reason: "Fetched", message: "at \(environment.revision.shortCommit)", since: time)
}

/// Conditions in the store are a list per environment: each type is replaced, the others kept.
/// Only the leader writes them, and within it the lock keeps two merges from losing each other's
/// update (the loop's SourceReady and a reconcile's Ready and Drifted).
struct ConditionBook {
    let store: StateStore
    private static let lock = NSLock()

    func merge(environment: String, _ updates: [Condition]) throws {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        var conditions = try store.environmentStatus(environment)?.conditions ?? []
        for update in updates {
            if let index = conditions.firstIndex(where: { $0.type == update.type }) {
                // Keep `since` when nothing but the time changed.
                let old = conditions[index]
                conditions[index] = (old.status == update.status && old.reason == update.reason && old.message == update.message) ? old : update
            } else {
                conditions.append(update)
            }
        }
        try store.setConditions(environment: environment, conditions)
    }
}
