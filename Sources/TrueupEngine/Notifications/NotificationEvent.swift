// Notifications/: what happened to an environment, told to the places its `spec.notify` names.
// The reconcile only records events into the state store's outbox (NotificationRecorder); the
// sender delivers them later, off the reconcile path (NotificationSender). Nothing here changes
// what is applied, and no secret is ever written into an event, a row or a message.
import Foundation
import TrueupCore

/// One event as a webhook receives it (DESIGN §6): what a person needs to act on it.
public struct NotificationEvent: Codable, Sendable, Hashable {
    public struct Revision: Codable, Sendable, Hashable {
        public var commit: String
        public var author: String
        public var message: String
    }

    /// One action of the run, or one drifted resource.
    public struct Action: Codable, Sendable, Hashable {
        public var resource: String
        public var action: String
        /// succeeded, failed, skipped; drift for a drifted resource.
        public var status: String
        public var error: String?
        /// The command that prints this action's logs.
        public var logs: String?

        public init(resource: String, action: String, status: String, error: String? = nil, logs: String? = nil) {
            self.resource = resource
            self.action = action
            self.status = status
            self.error = error
            self.logs = logs
        }
    }

    /// A gate that did not pass: each metric against its threshold.
    public struct GateResult: Codable, Sendable, Hashable {
        public struct Metric: Codable, Sendable, Hashable {
            public var name: String
            /// Nil: the gate job did not report it.
            public var value: Double?
            /// As written in the spec, e.g. ">= 0.75".
            public var threshold: String
            public var met: Bool
        }

        public var asset: String
        public var job: String
        public var candidate: String
        public var metrics: [Metric]
        /// Set when the gate job itself failed (no metrics to compare).
        public var error: String?
    }

    /// The delivery id: the same in every retry (header X-Trueup-Delivery).
    public var id: String
    public var event: String
    public var environment: String
    public var revision: Revision
    /// One line a person reads first.
    public var summary: String
    public var run: Int64?
    public var actions: [Action]
    public var gates: [GateResult]
    /// The command that shows the run's logs, when there is a run.
    public var logsCommand: String?
    /// The environment on the dashboard (`--public-url` + `/#<env>`), when trueup knows its public URL.
    public var url: String?
    /// When the event happened, ISO 8601 UTC.
    public var timestamp: String

    /// A 140-character description (GitHub's limit) made of the summary.
    public var shortDescription: String { Self.truncate(summary, to: 140) }

    static func truncate(_ text: String, to limit: Int) -> String {
        let oneLine = text.replacingOccurrences(of: "\n", with: " ")
        guard oneLine.count > limit else { return oneLine }
        return String(oneLine.prefix(limit - 1)) + "…"
    }

    static func timestamp(_ time: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    public func json() throws -> String { String(decoding: try Self.encoder.encode(self), as: UTF8.self) }

    public static func decode(_ text: String) throws -> NotificationEvent {
        try JSONDecoder().decode(NotificationEvent.self, from: Data(text.utf8))
    }
}
