import Foundation
import Synchronization
import TrueupCore
import TrueupStore

/// Turns what happened to an environment into outbox entries, one per receiver of its
/// `spec.notify` that wants the event. It only builds rows: the caller writes them in the same
/// transaction as the outcome they report, and the sender delivers them later.
public struct NotificationRecorder: Sendable {
    /// False with `--no-notify`: nothing is recorded.
    public var enabled: Bool
    /// The dashboard's public URL, for links in statuses and events; nil when unknown.
    public var publicURL: String?
    /// Where the `*FromEnv` names are looked up (only to know whether a receiver can be reached:
    /// no value is ever copied into a row).
    public var environmentVariables: [String: String]
    /// Told once per receiver and process when a receiver cannot be reached (its token unset).
    public var warn: @Sendable (String) -> Void

    public init(enabled: Bool = true, publicURL: String? = nil, environmentVariables: [String: String] = ProcessInfo.processInfo.environment,
                warn: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }) {
        self.enabled = enabled
        self.publicURL = publicURL
        self.environmentVariables = environmentVariables
        self.warn = warn
    }

    /// The mark (in the outbox's marks) of the commit whose status was last told.
    public static let commitTopic = "commit"

    public static let disabled = NotificationRecorder(enabled: false, environmentVariables: [:], warn: { _ in })

    /// What an event says, before it is addressed to a receiver.
    public struct Draft: Sendable {
        public var event: NotifyReceiver.Event
        public var revision: RevisionInfo
        public var summary: String
        public var runID: Int64?
        public var actions: [NotificationEvent.Action] = []
        public var gates: [NotificationEvent.GateResult] = []

        public init(event: NotifyReceiver.Event, revision: RevisionInfo, summary: String, runID: Int64? = nil,
                    actions: [NotificationEvent.Action] = [], gates: [NotificationEvent.GateResult] = []) {
            self.event = event
            self.revision = revision
            self.summary = summary
            self.runID = runID
            self.actions = actions
            self.gates = gates
        }
    }

    /// One entry per receiver of `settings` that takes `draft`'s event and can be reached.
    public func entries(_ draft: Draft, settings: EnvironmentSettings, at time: Double) -> [OutboxEntry] {
        guard enabled else { return [] }
        var entries: [OutboxEntry] = []
        for receiver in settings.notify where receiver.wants(draft.event) && Self.carries(receiver.type, draft.event) {
            guard reachable(receiver, environment: settings.name) else { continue }
            let deliveryID = UUID().uuidString.lowercased()
            let event = NotificationEvent(
                id: deliveryID, event: draft.event.rawValue, environment: settings.name,
                revision: .init(commit: draft.revision.commit, author: draft.revision.author, message: draft.revision.message),
                summary: draft.summary, run: draft.runID, actions: draft.actions, gates: draft.gates,
                logsCommand: draft.runID.map { "trueup logs \($0)" },
                url: publicURL.map { "\($0.hasSuffix("/") ? String($0.dropLast()) : $0)/#\(settings.name)" },
                timestamp: NotificationEvent.timestamp(time))
            guard let payload = try? event.json(), let receiverJSON = try? StoredJSON.encode(receiver) else { continue }
            entries.append(OutboxEntry(deliveryID: deliveryID, environment: settings.name, receiver: receiver.name, receiverType: receiver.type.rawValue,
                                       receiverJSON: receiverJSON, event: draft.event.rawValue, payloadJSON: payload, runID: draft.runID))
        }
        return entries
    }

    /// Commit statuses say where a commit stands: applying, applied, failed, waiting. Drift and
    /// health are alerts, for webhooks and chat; a gate failure already fails the apply's status.
    static func carries(_ type: NotifyReceiver.ReceiverType, _ event: NotifyReceiver.Event) -> Bool {
        switch type {
        case .github, .gitlab: [.started, .succeeded, .failed, .pending, .test].contains(event)
        case .webhook, .slack: true
        }
    }

    private static let warned = Mutex<Set<String>>([])

    /// Whether every secret `receiver` needs is set; warns once per receiver when not.
    func reachable(_ receiver: NotifyReceiver, environment: String) -> Bool {
        let needed = [receiver.tokenFromEnv, receiver.urlFromEnv, receiver.secretFromEnv].compactMap { $0 }
        guard let missing = needed.first(where: { (environmentVariables[$0] ?? "").isEmpty }) else { return true }
        let key = "\(environment)/\(receiver.name)"
        if Self.warned.withLock({ $0.insert(key).inserted }) {
            warn("notifications: receiver \(receiver.name) (\(receiver.type.rawValue)) of \(environment) is skipped: the environment variable \(missing) is not set; set it for trueup, or remove the receiver from spec.notify")
        }
        return false
    }
}

extension NotificationRecorder {
    /// `started`, written with the run itself.
    func started(_ planned: Reconciler.Planned, revision: RevisionInfo, runID: Int64, at time: Double) -> [OutboxEntry] {
        guard planned.plan.hasChanges else { return [] }
        let summary = "applying \(planned.environment.name) at \(planned.plan.commit.prefix(12)): \(PlanRenderer.summary(planned.plan))"
        return entries(Draft(event: .started, revision: revision, summary: summary, runID: runID), settings: planned.environment.settings, at: time)
    }

    /// `succeeded` or `failed` (with `gate-failed` beside it when a gate did not pass), written
    /// with the run's outcome.
    func finished(_ planned: Reconciler.Planned, revision: RevisionInfo, runID: Int64, actions: [ActionRecord],
                  gates: [NotificationEvent.GateResult], ok: Bool, at time: Double) -> [OutboxEntry] {
        let name = planned.environment.name
        let short = planned.plan.commit.prefix(12)
        let logs = "trueup logs \(runID)"
        let reported = actions.map { a in
            NotificationEvent.Action(resource: a.resource, action: a.action, status: a.status.rawValue, error: a.error,
                                     logs: a.status == .failed ? logs : nil)
        }
        let settings = planned.environment.settings
        if ok {
            let summary = planned.plan.hasChanges ? "applied \(name) at \(short): \(PlanRenderer.summary(planned.plan))" : "\(name) is in sync with \(short): nothing to change"
            return entries(Draft(event: .succeeded, revision: revision, summary: summary, runID: runID, actions: reported), settings: settings, at: time)
        }
        let failed = reported.filter { $0.status == "failed" }
        let skipped = reported.filter { $0.status == "skipped" }
        let first = failed.first.map { "\($0.resource) failed: \($0.error ?? "")" } ?? skipped.first.map { "\($0.resource) not applied: \($0.error ?? "")" } ?? ""
        let summary = "apply of \(name) at \(short) failed (\(failed.count) failed, \(skipped.count) not applied): \(first); `\(logs)` shows why"
        var all = entries(Draft(event: .failed, revision: revision, summary: summary, runID: runID, actions: reported, gates: gates), settings: settings, at: time)
        for gate in gates {
            let verdicts = gate.metrics.map { m in "\(m.name) \(m.value.map { String(format: "%g", $0) } ?? "missing") \(m.threshold) \(m.met ? "✓" : "✗")" }
            let why = gate.error ?? verdicts.joined(separator: ", ")
            let summary = "gate Job/\(gate.job) of \(gate.asset) in \(name) did not pass for \(gate.candidate): \(why); the alias stays where it was"
            all += entries(Draft(event: .gateFailed, revision: revision, summary: summary, runID: runID, actions: reported.filter { $0.status == "failed" }, gates: [gate]),
                           settings: settings, at: time)
        }
        return all
    }
}
