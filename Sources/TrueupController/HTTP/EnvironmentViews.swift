import Foundation
import TrueupBackends
import TrueupCore
import TrueupEngine
import TrueupStore

/// One environment as the API and the dashboard show it: what git wants (from the loop), what was
/// applied and what happened (from the state store), merged. A standby controller knows only the
/// store's half.
struct EnvironmentView: Encodable, Sendable {
    struct Revisions: Encodable, Sendable {
        /// The newest commit of the branch.
        var head: String?
        /// The revision the environment is reconciled at (equal to head unless head is invalid for it).
        var lastGood: String?
        var lastApplied: String?
        var lastAttempted: String?
    }

    struct LastReconcile: Encodable, Sendable {
        var finishedAt: Timestamp
        var reason: String
        var outcome: String
        var message: String
        var revision: String
        var runID: Int64?
    }

    /// One asset (resource) of the environment: where it stands.
    struct Asset: Encodable, Sendable {
        var resource: String
        /// `Synced`, `Drifted`, `Failed`, an action waiting (`create`, `update`, `run`, `delete`,
        /// `blocked`), or `Applied` when only the store is known.
        var state: String
        /// The applied version (or job identity, or served version), shortened.
        var version: String?
        var detail: String?
        /// For a Model or Prompt with gates: each gate job's latest run, its metrics against the
        /// thresholds (`evaluate-churn: auc 0.92 >= 0.75 ✓`).
        var gates: [String]?
    }

    /// The latest health check, as the API shows it.
    struct Health: Encodable, Sendable {
        /// Healthy, Progressing, Missing, Degraded or Unknown.
        var status: String
        var summary: String
        var observedAt: Timestamp
        var deployments: [DeploymentHealth]
    }

    var name: String
    /// Synced, OutOfSync, Drifted, Blocked, Failed, Invalid or Unknown.
    var state: String
    /// What the serving backends reported at the latest health check; nil before the first.
    var health: Health?
    /// Notifications not delivered yet, or given up on, per receiver (none when all went out).
    var notifications: [Notifications] = []

    struct Notifications: Encodable, Sendable {
        var receiver: String
        var pending: Int
        var failed: Int
        var lastError: String?
    }
    var message: String?
    var sync: String?
    var selfHeal: Bool?
    var prune: Bool?
    var interval: String?
    var reconciling: Bool
    var nextReconcileAt: Timestamp?
    var revisions: Revisions
    /// Why the newest commit is not used for this environment; nil when it is.
    var sourceProblem: String?
    var conditions: [ConditionView]
    var drift: [DriftEntry]
    var lastReconcile: LastReconcile?
    var pendingPlan: Plan?
    var assets: [Asset]?
}

/// A status condition as the API shows it (its time in RFC 3339).
struct ConditionView: Encodable, Sendable {
    var type: String
    var status: Bool
    var reason: String
    var message: String
    var since: Timestamp

    init(_ condition: Condition) {
        type = condition.type
        status = condition.status
        reason = condition.reason
        message = condition.message
        since = Timestamp(condition.since)
    }
}

enum EnvironmentViews {
    /// Every environment the loop or the store knows, sorted by name.
    static func all(_ context: ControllerContext, detailed: Bool) throws -> [EnvironmentView] {
        let snapshot = context.status.snapshot
        let stored = Dictionary(try context.workspace.store.allEnvironmentStatuses().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let names = Set(snapshot.environments.keys).union(stored.keys)
        return try names.sorted().map { try view($0, snapshot: snapshot, stored: stored[$0], context: context, detailed: detailed) }
    }

    /// One environment, or nil when neither the loop nor the store knows it.
    static func one(_ name: String, _ context: ControllerContext) throws -> EnvironmentView? {
        let snapshot = context.status.snapshot
        let stored = try context.workspace.store.environmentStatus(name)
        guard snapshot.environments[name] != nil || stored != nil else { return nil }
        return try view(name, snapshot: snapshot, stored: stored, context: context, detailed: true)
    }

    static func view(_ name: String, snapshot: ControllerStatus.Snapshot, stored: EnvironmentStatus?, context: ControllerContext, detailed: Bool) throws -> EnvironmentView {
        let live = snapshot.environments[name]
        let settings = live?.settings
        let report = live?.report
        let pending = stored?.pendingPlanJSON.flatMap { try? JSONDecoder().decode(Plan.self, from: Data($0.utf8)) }
        var view = EnvironmentView(
            name: name, state: "Unknown", message: report?.message, sync: settings?.sync.rawValue, selfHeal: settings?.selfHeal, prune: settings?.prune,
            interval: settings.map { DurationSyntax.format($0.interval) }, reconciling: live?.reconciling ?? false,
            nextReconcileAt: live?.nextReconcileAt.map(Timestamp.init),
            revisions: .init(head: snapshot.source.head?.commit, lastGood: live?.lastGoodRevision?.commit,
                             lastApplied: stored?.lastAppliedCommit, lastAttempted: stored?.lastAttemptedCommit),
            sourceProblem: live?.problem, conditions: (stored?.conditions ?? []).map(ConditionView.init), drift: report?.drift ?? [],
            lastReconcile: report.map { .init(finishedAt: Timestamp($0.finishedAt), reason: $0.reason.rawValue, outcome: $0.outcome.rawValue, message: $0.message, revision: $0.revision, runID: $0.runID) },
            pendingPlan: detailed ? pending : nil)
        view.state = state(live: live, stored: stored)
        view.notifications = ((try? context.workspace.store.notificationBacklog(environment: name)) ?? []).map {
            EnvironmentView.Notifications(receiver: $0.receiver, pending: $0.pending, failed: $0.failed, lastError: $0.lastError)
        }
        view.health = live?.health.map { EnvironmentView.Health(status: $0.status.rawValue, summary: $0.summary, observedAt: Timestamp($0.observedAt), deployments: $0.deployments) }
        if view.message == nil { view.message = live?.problem ?? stored?.conditions.first { $0.type == "Ready" }?.message }
        if detailed { view.assets = try assets(name, live: live, context: context) }
        return view
    }

    static func state(live: ControllerStatus.Environment?, stored: EnvironmentStatus?) -> String {
        // The newest commit is invalid for it: say so, even though it is kept (and maybe in sync)
        // at its last good revision; the message and sourceProblem say which.
        if live?.problem != nil { return "Invalid" }
        if let report = live?.report {
            switch report.outcome {
            case .inSync, .applied: return report.drift.isEmpty ? "Synced" : "Drifted"
            case .driftNotHealed: return "Drifted"
            case .pendingManualSync, .syncWindowClosed: return "OutOfSync"
            case .blocked: return "Blocked"
            case .applyFailed, .failed, .fencedOut: return "Failed"
            }
        }
        guard let ready = stored?.conditions.first(where: { $0.type == "Ready" }) else { return "Unknown" }
        if ready.status { return "Synced" }
        switch ready.reason {
        case "PendingManualSync", "SyncWindowClosed", "Pending": return "OutOfSync"
        case "Blocked": return "Blocked"
        case "DriftNotHealed": return "Drifted"
        default: return "Failed"
        }
    }

    /// The environment's assets: every resource of its desired state (or, on a standby, of what
    /// was applied), with the latest plan's verdict and the applied version.
    static func assets(_ name: String, live: ControllerStatus.Environment?, context: ControllerContext) throws -> [EnvironmentView.Asset] {
        let applied = try context.workspace.store.appliedResources(environment: name)
        let ids = live?.desired.map { Array($0.resources.keys) } ?? Array(applied.keys)
        let changes = Dictionary((live?.report?.plan?.changes ?? []).map { ($0.resource, $0) }, uniquingKeysWith: { a, _ in a })
        let drifted = Dictionary((live?.report?.drift ?? []).map { ($0.resource, $0.description) }, uniquingKeysWith: { a, _ in a })
        let outcome = live?.report?.outcome
        let gateVerdicts = try gates(name, desired: live?.desired, context: context)
        return ids.filter { $0.kind != .environment }.sorted().map { id in
            var state = applied[id] == nil ? "NotApplied" : "Applied"
            var detail: String?
            if let change = changes[id] {
                if let drift = drifted[id] {
                    state = "Drifted"
                    detail = drift
                } else if let why = live?.report?.failed[id] {
                    state = "Failed"
                    detail = why
                } else if change.action == .noop || outcome == .applied || outcome == .applyFailed {
                    state = "Synced"
                } else {
                    state = change.action.rawValue
                    detail = change.reasons.first
                }
            }
            return EnvironmentView.Asset(resource: id.description, state: state, version: version(applied[id]?.state["summary"]), detail: detail, gates: gateVerdicts[id])
        }
    }

    /// Each gated asset's gates as its latest gate runs met them, from the job runs trueup recorded.
    static func gates(_ name: String, desired: DesiredEnvironment?, context: ControllerContext) throws -> [ResourceID: [String]] {
        guard let desired else { return [:] }
        var gated: [ResourceID: [Gate]] = [:]
        for (id, resource) in desired.resources {
            switch resource.typed {
            case .model(let spec) where !spec.gates.isEmpty: gated[id] = spec.gates
            case .prompt(let spec) where !spec.gates.isEmpty: gated[id] = spec.gates
            default: break
            }
        }
        guard !gated.isEmpty else { return [:] }
        let jobs = Set(gated.values.flatMap { $0.map(\.job) })
        let latest = try LocalBackendStore(store: context.workspace.store).latestFinishedJobRuns(environment: name, jobs: jobs)
        return gated.mapValues { gates in
            gates.map { gate in
                guard let run = latest[gate.job] else { return "\(gate.job): not run yet" }
                let verdicts = gate.metrics.map { metric -> String in
                    guard let value = run.metrics[metric.name] else { return "\(metric.name) missing \(metric.text) ✗" }
                    let met = metric.threshold?.isMet(by: value) ?? false
                    return "\(metric.name) \(String(format: "%g", value)) \(metric.text) \(met ? "✓" : "✗")"
                }
                return "\(gate.job): " + (run.status == .succeeded ? verdicts.joined(separator: ", ") : "run \(run.identity.prefix(12)) \(run.status.rawValue)")
            }
        }
    }

    static func version(_ summary: JSONValue?) -> String? {
        guard let summary else { return nil }
        for key in ["version", "identity", "serves"] {
            if let value = summary[key]?.stringValue, value != PlannedChange.knownAfterApply {
                return value.count >= 40 ? String(value.prefix(12)) : value
            }
        }
        return nil
    }
}

/// A reconcile run as the API shows it, with its actions and where its logs are.
struct RunView: Encodable, Sendable {
    struct Action: Encodable, Sendable {
        var resource: String
        var action: String
        var status: String
        var attempts: Int
        var error: String?
        var hasLog: Bool
    }

    var id: Int64
    var environment: String
    var trigger: String
    var commit: String
    var author: String
    var message: String
    var startedAt: Timestamp
    var finishedAt: Timestamp?
    var outcome: String
    var logs: String
    var actions: [Action]

    init(_ run: ReconcileRun, actions: [ActionRecord]) {
        id = run.id
        environment = run.environment
        trigger = run.trigger
        commit = run.commit
        author = run.author
        message = run.message
        startedAt = Timestamp(run.startedAt)
        finishedAt = run.finishedAt.map(Timestamp.init)
        outcome = run.outcome
        logs = "/api/v1/runs/\(run.id)/logs"
        self.actions = actions.map {
            Action(resource: $0.resource, action: $0.action, status: $0.status.rawValue, attempts: $0.attempts, error: $0.error, hasLog: $0.logPath != nil)
        }
    }
}
