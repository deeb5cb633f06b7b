import Foundation
import TrueupCore
import TrueupStore

public struct DriftReport: Codable, Sendable {
    public var environment: String
    public var lastAppliedCommit: String?
    public var drifted: [DriftEntry]
}

/// Drift: actual state that differs from what trueup last applied while git did not change (DESIGN §3).
/// Observed against the desired state at the last applied commit, so that pending changes in git
/// never pass for drift.
public struct DriftDetector: Sendable {
    public let workspace: Workspace

    public init(workspace: Workspace) {
        self.workspace = workspace
    }

    public func detect(environment name: String) async throws -> DriftReport {
        let status = try workspace.store.environmentStatus(name)
        guard let commit = status?.lastAppliedCommit ?? status?.lastAttemptedCommit else {
            return DriftReport(environment: name, lastAppliedCommit: nil, drifted: [])
        }
        let planned = try await Reconciler(workspace: workspace).plan(environment: name, revision: commit)
        return DriftReport(environment: name, lastAppliedCommit: status?.lastAppliedCommit, drifted: Self.drift(planned))
    }

    /// What differs from what trueup last applied, resource by resource (jobs do not drift).
    public static func drift(_ planned: Reconciler.Planned) -> [DriftEntry] {
        var items: [DriftEntry] = []
        for change in planned.plan.changes where change.resource.kind != .job {
            guard let applied = planned.applied[change.resource]?.summary, planned.environment.resources[change.resource] != nil,
                  change.before != applied else { continue }
            let fields = FieldChange.diff(applied, change.before)
            var description = fields.map { "\($0.path.isEmpty ? "state" : $0.path) is \(PlanRenderer.value($0.after)), applied \(PlanRenderer.value($0.before))" }.joined(separator: "; ")
            if change.before == nil { description = "it no longer exists (applied: \(applied.canonicalJSON))" }
            if let problem = change.reasons.first(where: { !$0.hasPrefix("drift:") && !$0.hasPrefix("gates") }), change.before != nil {
                description += " (\(problem))"
            }
            items.append(DriftEntry(resource: change.resource, applied: applied, actual: change.before, description: description))
        }
        return items
    }
}
