import Foundation
import TrueupCore
import TrueupEngine
import TrueupStore

/// What a scheduled reconcile observed, told once: drift when it appears or changes (not every
/// interval), changes waiting on a manual environment once per commit, and an environment found
/// in sync at a new commit (so the commit gets its status). Each is recorded together with the
/// mark that says it was told, in one transaction.
extension EnvironmentReconciliation {
    func recordNotifications(_ outcome: ReconcileOutcome, at time: Double) throws {
        let recorder = context.reconciler.notifications
        guard recorder.enabled, !settings.notify.isEmpty else { return }
        let revision = environment.revision
        let short = revision.commit.prefix(12)

        let drift = outcome.drift.sorted { $0.resource < $1.resource }
        let fingerprint = drift.isEmpty ? nil : drift.map { "\($0.resource): \($0.description)" }.joined(separator: "\n")
        let driftEntries = fingerprint == nil ? [] : recorder.entries(.init(
            event: .drift, revision: revision,
            summary: "\(drift.count) resource\(drift.count == 1 ? "" : "s") of \(name) drifted from what was applied\(settings.selfHeal ? "; selfHeal corrects it" : "; selfHeal is off, so it is reported, not corrected"): " + drift.prefix(3).map { "\($0.resource) \($0.description)" }.joined(separator: "; "),
            actions: drift.map { .init(resource: $0.resource.description, action: "observe", status: "drift", error: $0.description, logs: nil) }),
            settings: settings, at: time)
        try store.recordNotifications(driftEntries, environment: name, topic: "drift", value: fingerprint, at: time)

        switch outcome.result {
        case .pendingManualSync:
            let waiting = outcome.plan?.changes.filter { $0.action != .noop } ?? []
            let entries = recorder.entries(.init(
                event: .pending, revision: revision,
                summary: "\(PlanRenderer.summary(of: waiting)) wait for a manual apply of \(name) at \(short): `trueup apply --env \(name)`"),
                settings: settings, at: time)
            try store.recordNotifications(entries, environment: name, topic: "pending", value: revision.commit, at: time)
        case .inSync, .driftNotHealed:
            // A commit that changes nothing here still gets its status, once.
            let entries = recorder.entries(.init(event: .succeeded, revision: revision, summary: "\(name) is in sync with \(short): nothing to change"),
                                           settings: settings, at: time)
            try store.recordNotifications(entries, environment: name, topic: NotificationRecorder.commitTopic, value: revision.commit, at: time)
        case .applied, .applyFailed:
            // The apply told it already (Reconciler): only remember the commit.
            try store.recordNotifications([], environment: name, topic: NotificationRecorder.commitTopic, value: revision.commit, at: time)
        default:
            break
        }
    }
}
