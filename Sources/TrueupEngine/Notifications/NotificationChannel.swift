import Foundation
import TrueupCore
import TrueupStore

/// Why one delivery attempt did not succeed.
public enum DeliveryFailure: Error, Sendable, CustomStringConvertible {
    /// Worth another try later: 5xx, 429, 408, a reset or a timeout. `retryAfter` is the
    /// receiver's own Retry-After, in seconds.
    case transient(String, retryAfter: Double?)
    /// Another try would get the same answer (401, 404, 422...): the event has failed.
    case permanent(String)

    public var description: String {
        switch self {
        case .transient(let message, _), .permanent(let message): message
        }
    }
}

/// What a receiver needs to deliver one event: the HTTP transport, the secrets it names, and
/// a place to keep what it already did (so a retry does not create a second deployment).
struct DeliveryContext: Sendable {
    let transport: HTTPTransport
    let secrets: [String: String]
    let store: StateStore
    let row: OutboxRow
    let receiver: NotifyReceiver
    let event: NotificationEvent

    func secret(_ name: String?) -> String? { name.flatMap { secrets[$0] }.flatMap { $0.isEmpty ? nil : $0 } }

    /// `receiver github (github) of staging`: how errors name the receiver, never by its secrets.
    var who: String { "receiver \(receiver.name) (\(receiver.type.rawValue)) of \(row.entry.environment)" }
}

/// One kind of receiver: github, gitlab, webhook, slack.
protocol NotificationChannel: Sendable {
    /// Delivers `context.event`; throws DeliveryFailure. Delivering the same event again must be
    /// harmless (at least once): statuses are idempotent, and steps already done are skipped.
    func deliver(_ context: DeliveryContext) async throws
}

enum NotificationChannels {
    static func channel(for type: NotifyReceiver.ReceiverType) -> any NotificationChannel {
        switch type {
        case .github: GitHubReceiver()
        case .gitlab: GitLabReceiver()
        case .webhook: WebhookReceiver()
        case .slack: SlackReceiver()
        }
    }
}
