import Crypto
import Foundation

/// A webhook: the event's JSON as the body, signed with HMAC-SHA256 of exactly those bytes when
/// a secret is set. The delivery id (X-Trueup-Delivery) is the event id, the same in every retry,
/// so a receiver can drop duplicates.
struct WebhookReceiver: NotificationChannel {
    static func signature(body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    func deliver(_ context: DeliveryContext) async throws {
        let receiver = context.receiver
        guard let url = receiver.url ?? context.secret(receiver.urlFromEnv) else {
            throw DeliveryFailure.permanent("\(context.who): the environment variable \(receiver.urlFromEnv ?? "urlFromEnv") is not set for trueup")
        }
        let body = Array(context.row.entry.payloadJSON.utf8)
        var headers = [
            ("Content-Type", "application/json"), ("User-Agent", "trueup"),
            ("X-Trueup-Event", context.event.event), ("X-Trueup-Delivery", context.row.entry.deliveryID),
        ]
        if let name = receiver.secretFromEnv {
            guard let secret = context.secret(name) else {
                throw DeliveryFailure.permanent("\(context.who): the environment variable \(name) holding its signing secret is not set for trueup")
            }
            headers.append(("X-Trueup-Signature-256", Self.signature(body: body, secret: secret)))
        }
        // An inline url is no secret, but one from urlFromEnv is: errors name the receiver only.
        let target = receiver.url.flatMap { URL(string: $0)?.host }.map { "the webhook at \($0) (\(context.who))" } ?? "the webhook of \(context.who)"
        let answer = try await context.transport.send(OutgoingRequest(method: .POST, url: url, headers: headers, body: body), target: target)
        _ = try answer.expectSuccess("\(target) refused event \(context.event.event)")
    }
}
