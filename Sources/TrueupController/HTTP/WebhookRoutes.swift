import Foundation
import Hummingbird
import TrueupStore

/// `POST /api/v1/webhooks/github` and `POST /api/v1/webhooks/gitlab`: a push makes the controller
/// fetch at once instead of at the next poll.
///
/// In order: refused (403) when no secret is configured; 413 above 1 MiB, before reading it all;
/// 401 when the signature or token is missing or wrong (constant-time comparisons); 400 without a
/// delivery id; 503 on a controller that is not leading; a delivery id seen before is a no-op
/// (200); otherwise 202 at once, with the fetch queued for the loop.
struct WebhookRoutes {
    let context: ControllerContext
    static let maximumBody = 1 << 20

    func add(to router: Router<BasicRequestContext>) {
        router.post("/api/v1/webhooks/github") { request, _ in await receive(.github, request) }
        router.post("/api/v1/webhooks/gitlab") { request, _ in await receive(.gitlab, request) }
    }

    func receive(_ provider: WebhookVerification.Provider, _ request: Request) async -> Response {
        let outcome = await handle(provider, request)
        context.metrics.webhook(provider: provider.rawValue, result: outcome.metric)
        if outcome.response.status.code >= 400 {
            context.logger.warning("webhook refused", metadata: ["provider": "\(provider.rawValue)", "status": "\(outcome.response.status.code)", "result": "\(outcome.metric)"])
        }
        return outcome.response
    }

    private func handle(_ provider: WebhookVerification.Provider, _ request: Request) async -> (response: Response, metric: String) {
        guard let secret = context.configuration.webhookSecret, !secret.isEmpty else {
            return (Responses.error(.forbidden, "webhooks are refused: no webhook secret is configured; start the controller with --webhook-secret-env NAME, NAME holding the secret set in \(provider == .github ? "GitHub" : "GitLab")"), "refused")
        }
        if let declared = header(request, "Content-Length").flatMap(Int.init), declared > Self.maximumBody {
            return (tooLarge(), "too_large")
        }
        let body: [UInt8]
        switch await Self.collect(request.body, upTo: Self.maximumBody) {
        case .complete(let bytes): body = bytes
        case .tooLarge: return (tooLarge(), "too_large")
        case .unreadable: return (Responses.error(.badRequest, "the request body could not be read"), "bad_request")
        }
        let verdict: WebhookVerification.Verdict
        switch provider {
        case .github: verdict = WebhookVerification.github(body: body, signatureHeader: header(request, "X-Hub-Signature-256"), secret: secret)
        case .gitlab: verdict = WebhookVerification.gitlab(tokenHeader: header(request, "X-Gitlab-Token"), secret: secret)
        }
        switch verdict {
        case .verified: break
        case .missingSignature(let why): return (Responses.error(.unauthorized, why), "unauthorized")
        case .badSignature(let why): return (Responses.error(.unauthorized, why), "unauthorized")
        }
        let deliveryHeader = provider == .github ? "X-GitHub-Delivery" : "X-Gitlab-Event-UUID"
        guard let delivery = header(request, deliveryHeader), !delivery.isEmpty, delivery.count <= 200 else {
            return (Responses.error(.badRequest, "the request has no \(deliveryHeader) header, which identifies a delivery so that a redelivery is not acted on twice"), "bad_request")
        }
        guard case .leading = context.status.snapshot.role else {
            return (Responses.error(.serviceUnavailable, "this controller is not the leader: send webhooks to the leader (this one polls once it leads)"), "not_leader")
        }
        do {
            guard try context.workspace.store.recordDelivery("\(provider.rawValue):\(delivery)") else {
                return (Responses.json(["status": "duplicate: this delivery was received before, nothing to do"]), "duplicate")
            }
        } catch is FencedOut {
            return (Responses.error(.serviceUnavailable, "this controller just lost the leader lease: send webhooks to the new leader"), "not_leader")
        } catch {
            return (Responses.error(.internalServerError, "cannot record the delivery: \(error)"), "error")
        }
        let event = header(request, provider == .github ? "X-GitHub-Event" : "X-Gitlab-Event") ?? "unknown"
        if provider == .github && event == "ping" {
            return (Responses.json(["status": "pong"]), "ping")
        }
        context.inbox.send(.fetchNow("\(provider == .github ? "GitHub" : "GitLab") \(event) webhook"))
        return (Responses.json(["status": "queued: the repository is fetched now"], status: .accepted), "accepted")
    }

    private func tooLarge() -> Response {
        Responses.error(.contentTooLarge, "the webhook body is larger than \(Self.maximumBody / 1024) KiB: trueup reads at most that")
    }

    private func header(_ request: Request, _ name: String) -> String? {
        let wanted = name.lowercased()
        return request.headers.first { $0.name.canonicalName == wanted }?.value
    }

    enum Body {
        case complete([UInt8])
        /// It grew past the limit: the rest was never read.
        case tooLarge
        case unreadable
    }

    static func collect(_ body: RequestBody, upTo limit: Int) async -> Body {
        var bytes: [UInt8] = []
        do {
            for try await chunk in body {
                guard bytes.count + chunk.readableBytes <= limit else { return .tooLarge }
                bytes += chunk.readableBytesView
            }
        } catch {
            return .unreadable
        }
        return .complete(bytes)
    }
}
