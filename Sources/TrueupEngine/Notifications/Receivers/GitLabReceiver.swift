import Foundation
import TrueupCore

/// GitLab: a commit status named `trueup/<env>` (POST /api/v4/projects/:id/statuses/:sha).
/// A `test` event reads the project, changing nothing.
struct GitLabReceiver: NotificationChannel {
    func deliver(_ context: DeliveryContext) async throws {
        let receiver = context.receiver
        let project = receiver.project ?? ""
        guard let token = context.secret(receiver.tokenFromEnv) else {
            throw DeliveryFailure.permanent("\(context.who): the environment variable \(receiver.tokenFromEnv ?? "tokenFromEnv") is not set for trueup: set it to a token with the api scope on \(project)")
        }
        let base = (receiver.url ?? NotifyReceiver.defaultGitLabURL).trimmingSuffix("/")
        // A path (group/name) is one URL segment, its slashes encoded.
        let id = project.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? project
        let headers = [("PRIVATE-TOKEN", token), ("User-Agent", "trueup"), ("Content-Type", "application/json"), ("Accept", "application/json")]
        let event = context.event
        let state: String
        switch NotifyReceiver.Event(rawValue: event.event) {
        case .test:
            let answer = try await context.transport.send(OutgoingRequest(method: .GET, url: "\(base)/api/v4/projects/\(id)", headers: headers, body: nil),
                                                          target: "GitLab (\(context.who), project \(project))")
            _ = try answer.expectSuccess("GitLab refused reading project \(project) for \(context.who)", advice: advice(receiver, project))
            return
        case .started: state = "running"
        case .succeeded: state = "success"
        case .failed: state = "failed"
        case .pending: state = "pending"
        default: return
        }
        var body: [String: JSONValue] = ["state": .string(state), "name": .string("trueup/\(context.row.entry.environment)"),
                                         "description": .string(NotificationEvent.truncate(event.summary, to: 255))]
        if let url = event.url { body["target_url"] = .string(url) }
        let request = OutgoingRequest(method: .POST, url: "\(base)/api/v4/projects/\(id)/statuses/\(event.revision.commit)", headers: headers,
                                      body: Array(JSONValue.object(body).canonicalJSON.utf8))
        let answer = try await context.transport.send(request, target: "GitLab (\(context.who), project \(project))")
        _ = try answer.expectSuccess("GitLab refused the commit status of \(context.who) for project \(project)", advice: advice(receiver, project))
    }

    private func advice(_ receiver: NotifyReceiver, _ project: String) -> (Int) -> String? {
        { status in
            switch status {
            case 401: "the token in \(receiver.tokenFromEnv ?? "") was not accepted: renew it"
            case 403: "the token in \(receiver.tokenFromEnv ?? "") may not set statuses: give it the api scope and Developer access to \(project)"
            case 404: "no project \(project) that this token can see: check spec.notify's project and the token's access"
            default: nil
            }
        }
    }
}
