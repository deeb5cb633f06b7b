import Foundation
import TrueupCore

/// Slack (and Mattermost, Rocket.Chat...): an incoming-webhook message `{text, blocks}`. The URL
/// is the secret, so it comes from the environment and errors never show it.
struct SlackReceiver: NotificationChannel {
    static func text(_ event: NotificationEvent) -> String {
        let mark: String
        switch NotifyReceiver.Event(rawValue: event.event) {
        case .succeeded, .recovered: mark = "✅"
        case .failed, .gateFailed, .degraded: mark = "❌"
        case .drift: mark = "⚠️"
        default: mark = "ℹ️"
        }
        var lines = ["\(mark) *trueup/\(event.environment)* \(event.event): \(event.summary)",
                     "commit `\(event.revision.commit.prefix(12))`\(event.revision.author.isEmpty ? "" : " by \(event.revision.author)")"]
        for action in event.actions where action.status == "failed" || action.status == "drift" {
            lines.append("• \(action.resource) \(action.status)\(action.error.map { ": \($0.prefix(300))" } ?? "")")
        }
        for gate in event.gates {
            for m in gate.metrics { lines.append("• gate \(gate.job): \(m.name) \(m.value.map { String(format: "%g", $0) } ?? "missing") \(m.threshold) \(m.met ? "✓" : "✗")") }
        }
        if let logs = event.logsCommand, event.event != "started" { lines.append("logs: `\(logs)`") }
        if let url = event.url { lines.append(url) }
        return lines.joined(separator: "\n")
    }

    func deliver(_ context: DeliveryContext) async throws {
        guard let url = context.secret(context.receiver.urlFromEnv) else {
            throw DeliveryFailure.permanent("\(context.who): the environment variable \(context.receiver.urlFromEnv ?? "urlFromEnv") holding its webhook URL is not set for trueup")
        }
        let text = Self.text(context.event)
        let message = JSONValue.object([
            "text": .string(text),
            "blocks": .array([.object(["type": .string("section"), "text": .object(["type": .string("mrkdwn"), "text": .string(String(text.prefix(3000)))])])]),
        ])
        let request = OutgoingRequest(method: .POST, url: url, headers: [("Content-Type", "application/json"), ("User-Agent", "trueup")],
                                      body: Array(message.canonicalJSON.utf8))
        let answer = try await context.transport.send(request, target: "the Slack webhook of \(context.who)")
        _ = try answer.expectSuccess("the Slack webhook of \(context.who) refused the message") { status in
            status == 404 || status == 403 || status == 410 ? "the webhook URL in \(context.receiver.urlFromEnv ?? "") is no longer valid: make a new incoming webhook" : nil
        }
    }
}
