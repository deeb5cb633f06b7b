import Foundation
import TrueupCore
import TrueupStore

/// GitHub: a commit status `trueup/<env>` on the applied commit, and a deployment per apply with
/// its statuses (REST operations repos/create-commit-status, repos/create-deployment,
/// repos/create-deployment-status). A `test` event reads the repository, changing nothing.
struct GitHubReceiver: NotificationChannel {
    static let apiVersion = "2022-11-28"

    /// What an event already did, kept in the outbox row: a retry skips these steps.
    struct Progress: Codable {
        var done: [String] = []
        var deployment: Int64?
    }

    func deliver(_ context: DeliveryContext) async throws {
        let receiver = context.receiver
        let repository = receiver.repository ?? ""
        let environment = context.row.entry.environment
        guard let token = context.secret(receiver.tokenFromEnv) else {
            throw DeliveryFailure.permanent("\(context.who): the environment variable \(receiver.tokenFromEnv ?? "tokenFromEnv") is not set for trueup: set it to a token that may write statuses and deployments of \(repository)")
        }
        let base = (receiver.url ?? NotifyReceiver.defaultGitHubURL).trimmingSuffix("/")
        let headers = [
            ("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", Self.apiVersion), ("User-Agent", "trueup"),
            ("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"),
        ]
        let event = context.event
        let sha = event.revision.commit
        let repo = "\(base)/repos/\(repository)"
        let commitContext = "trueup/\(environment)"
        var progress = context.row.progressJSON.flatMap { try? StoredJSON.decode(Progress.self, $0) } ?? Progress()

        func call(_ step: String, _ method: String, _ url: String, _ body: [String: JSONValue]?) async throws -> ReceivedAnswer {
            let request = OutgoingRequest(method: .init(rawValue: method), url: url, headers: headers,
                                          body: body.map { Array(JSONValue.object($0).canonicalJSON.utf8) })
            let answer = try await context.transport.send(request, target: "GitHub (\(context.who), repository \(repository))")
            return try answer.expectSuccess("GitHub refused \(step) of \(context.who) for repository \(repository)") { status in
                switch status {
                case 401: "the token in \(receiver.tokenFromEnv ?? "") was not accepted: renew it"
                case 403: "the token in \(receiver.tokenFromEnv ?? "") may not do this: give it the statuses and deployments permissions (read and write) on \(repository)"
                case 404: "no repository \(repository) that this token can see: check spec.notify's repository and the token's access"
                case 422: "GitHub did not accept the request (is commit \(sha.prefix(12)) pushed to \(repository)?)"
                default: nil
                }
            }
        }
        func once(_ step: String, _ body: () async throws -> Void) async throws {
            guard !progress.done.contains(step) else { return }
            try await body()
            progress.done.append(step)
            try? context.store.saveNotificationProgress(context.row.id, json: try StoredJSON.encode(progress))
        }
        func status(_ state: String) async throws {
            try await once("status") {
                var body: [String: JSONValue] = ["state": .string(state), "context": .string(commitContext), "description": .string(event.shortDescription)]
                if let url = event.url { body["target_url"] = .string(url) }
                _ = try await call("the commit status", "POST", "\(repo)/statuses/\(sha)", body)
            }
        }
        func deploymentStatus(_ deployment: Int64, _ state: String) async throws {
            try await once("deployment-status") {
                var body: [String: JSONValue] = ["state": .string(state), "description": .string(event.shortDescription), "environment": .string(environment)]
                if let url = event.url {
                    body["log_url"] = .string(url)
                    body["environment_url"] = .string(url)
                }
                _ = try await call("the deployment status", "POST", "\(repo)/deployments/\(deployment)/statuses", body)
            }
        }

        switch NotifyReceiver.Event(rawValue: event.event) {
        case .test:
            _ = try await call("reading the repository", "GET", repo, nil)
        case .started:
            try await status("pending")
            try await once("deployment") {
                let answer = try await call("the deployment", "POST", "\(repo)/deployments", [
                    "ref": .string(sha), "environment": .string(environment), "description": .string(event.shortDescription),
                    "auto_merge": .bool(false), "required_contexts": .array([]), "task": .string("deploy"),
                ])
                guard let id = (try? JSONValue.parse(Data(answer.body)))?["id"]?.doubleValue.map({ Int64($0) }) else {
                    throw DeliveryFailure.permanent("GitHub created a deployment for \(context.who) in \(repository) but its answer has no id")
                }
                progress.deployment = id
            }
            if let id = progress.deployment { try await deploymentStatus(id, "in_progress") }
        case .succeeded, .failed:
            let ok = event.event == NotifyReceiver.Event.succeeded.rawValue
            try await status(ok ? "success" : "failure")
            // The deployment the run's `started` event made, if it got that far.
            let earlier = (try? context.store.notificationProgress(environment: environment, receiver: receiver.name, runID: context.row.entry.runID ?? -1)) ?? []
            if let id = earlier.compactMap({ try? StoredJSON.decode(Progress.self, $0).deployment }).last {
                try await deploymentStatus(id, ok ? "success" : "failure")
            }
        case .pending:
            try await status("pending")
        default:
            return
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
