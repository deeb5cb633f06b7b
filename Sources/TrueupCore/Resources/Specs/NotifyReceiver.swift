/// One entry of `spec.notify`: where an environment's events go. Secrets (tokens, webhook
/// secrets, Slack URLs) are held only as the names of environment variables.
public struct NotifyReceiver: Sendable, Hashable, Codable {
    public enum ReceiverType: String, Sendable, Codable, CaseIterable {
        case github, gitlab, webhook, slack
    }

    /// What happened to an environment (DESIGN §6). `test` is sent only by `trueup notify test`.
    public enum Event: String, Sendable, Codable, CaseIterable {
        case started, succeeded, failed, pending, drift, degraded, recovered
        case gateFailed = "gate-failed"
        case test

        /// The events a receiver may subscribe to.
        public static let subscribable: [Event] = allCases.filter { $0 != .test }
    }

    public var name: String
    public var type: ReceiverType
    /// github: API root; gitlab: server; webhook: the endpoint. Nil: the type's default (or urlFromEnv).
    public var url: String?
    public var urlFromEnv: String?
    /// github: owner/name.
    public var repository: String?
    /// gitlab: path or numeric id.
    public var project: String?
    public var tokenFromEnv: String?
    public var secretFromEnv: String?
    /// Subscribed events; all subscribable ones when `spec.notify[].events` is absent.
    public var events: [Event]

    public init(name: String, type: ReceiverType, url: String? = nil, urlFromEnv: String? = nil, repository: String? = nil,
                project: String? = nil, tokenFromEnv: String? = nil, secretFromEnv: String? = nil, events: [Event] = Event.subscribable) {
        self.name = name
        self.type = type
        self.url = url
        self.urlFromEnv = urlFromEnv
        self.repository = repository
        self.project = project
        self.tokenFromEnv = tokenFromEnv
        self.secretFromEnv = secretFromEnv
        self.events = events
    }

    /// Whether `event` goes to this receiver (a test event goes everywhere).
    public func wants(_ event: Event) -> Bool { event == .test || events.contains(event) }

    public static let defaultGitHubURL = "https://api.github.com"
    public static let defaultGitLabURL = "https://gitlab.com"

    /// Decodes `spec.notify` (schema-checked) and reports the rules no schema expresses.
    static func decodeAll(_ value: JSONValue?, fail: (_ path: String, _ message: String) -> Void) -> [NotifyReceiver] {
        var receivers: [NotifyReceiver] = []
        var seen: Set<String> = []
        for (i, item) in (value?.arrayValue ?? []).enumerated() {
            let at = "spec.notify[\(i)]"
            let name = item["name"]?.stringValue ?? ""
            let typeText = item["type"]?.stringValue ?? ""
            guard let type = ReceiverType(rawValue: typeText) else {
                // The schema's enum says the same; kept for a schema that grows a type this build lacks.
                fail("\(at).type", "unknown receiver type '\(typeText)': use one of \(ReceiverType.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            var ok = true
            func problem(_ field: String, _ message: String) {
                fail(field.isEmpty ? at : "\(at).\(field)", message)
                ok = false
            }
            if !seen.insert(name).inserted { problem("name", "receiver '\(name)' is declared twice: give each receiver its own name") }
            // Never echo the value: it is the secret.
            if item["token"] != nil {
                problem("token", "a token written in environment.yaml is in git for everyone to read: remove it, put it in an environment variable and name that variable, e.g. tokenFromEnv: \(type == .gitlab ? "GITLAB_TOKEN" : "GITHUB_TOKEN")")
            }
            if item["secret"] != nil {
                problem("secret", "a secret written in environment.yaml is in git for everyone to read: remove it, put it in an environment variable and name that variable, e.g. secretFromEnv: ALERT_SECRET")
            }
            let receiver = NotifyReceiver(
                name: name, type: type, url: item["url"]?.stringValue, urlFromEnv: item["urlFromEnv"]?.stringValue,
                repository: item["repository"]?.stringValue, project: item["project"]?.stringValue,
                tokenFromEnv: item["tokenFromEnv"]?.stringValue, secretFromEnv: item["secretFromEnv"]?.stringValue,
                events: item["events"].map { $0.strings.compactMap(Event.init(rawValue:)) } ?? Event.subscribable)
            switch type {
            case .github:
                if receiver.repository == nil { problem("", "a github receiver needs repository, the owner/name its commit statuses go to: add e.g. repository: acme/ml-platform") }
                if receiver.tokenFromEnv == nil && item["token"] == nil { problem("", "a github receiver needs tokenFromEnv, the environment variable holding a token allowed to write commit statuses and deployments: add e.g. tokenFromEnv: GITHUB_TOKEN") }
            case .gitlab:
                if receiver.project == nil { problem("", "a gitlab receiver needs project, the path or id of the project its commit statuses go to: add e.g. project: acme/ml-platform") }
                if receiver.tokenFromEnv == nil && item["token"] == nil { problem("", "a gitlab receiver needs tokenFromEnv, the environment variable holding a token with the api scope: add e.g. tokenFromEnv: GITLAB_TOKEN") }
            case .webhook:
                if receiver.url == nil && receiver.urlFromEnv == nil { problem("", "a webhook receiver needs url (or urlFromEnv), where its events are posted: add e.g. url: \"https://alerts.example.com/trueup\"") }
            case .slack:
                if receiver.url != nil { problem("url", "a Slack incoming-webhook URL is a secret (anyone holding it can post): remove url, put it in an environment variable and name that variable, e.g. urlFromEnv: SLACK_WEBHOOK_URL") }
                else if receiver.urlFromEnv == nil { problem("", "a slack receiver needs urlFromEnv, the environment variable holding its incoming-webhook URL: add e.g. urlFromEnv: SLACK_WEBHOOK_URL") }
            }
            if type != .github && type != .gitlab && receiver.tokenFromEnv != nil {
                problem("tokenFromEnv", "a \(type.rawValue) receiver takes no token: remove tokenFromEnv\(type == .webhook ? ", or sign its events with secretFromEnv" : "")")
            }
            if ok { receivers.append(receiver) }
        }
        return receivers
    }
}
