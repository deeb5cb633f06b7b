// TrueupController: the long-running `trueup controller`. It composes the engine and owns no
// reconcile rules of its own: a scheduler decides when (Scheduling/), a mirror and a tracker say
// what git wants (Source/), the loop carries the work out as the single leader (Loop/), and the
// HTTP side receives webhooks and serves the API, metrics and the dashboard (HTTP/, Dashboard/).
import Foundation
import Logging
import TrueupEngine

/// Everything `trueup controller` is started with.
public struct ControllerConfiguration: Sendable {
    /// A URL or a local path: libgit2 clones either into `STATE/mirror.git`.
    public var repository: String
    public var branch: String
    public var host: String
    public var port: Int
    public var stateDirectory: String
    public var specRoot: String
    /// Seconds between fetches.
    public var pollInterval: Double
    /// The webhook secret's value (never logged or shown); nil: webhooks are refused.
    public var webhookSecret: String?
    /// The API's bearer token (never logged or shown); nil: the controller uses the one in
    /// `STATE/api-token`, making it at the first start. The API is never open.
    public var apiToken: String?
    /// Where the token was read from when it was not given: set when the controller starts.
    public internal(set) var apiTokenFile: String?
    /// True when the token file was made by this start.
    public internal(set) var apiTokenCreated = false
    /// `/metrics` wants the token too (`--metrics-need-token`); otherwise scrapers need none.
    public var metricsNeedToken: Bool
    /// Seconds a leader lease lasts; it is renewed every third of that.
    public var leaseDuration: Double
    public var maxConcurrentReconciles: Int
    /// Who this controller is in the lease table and in logs.
    public var holder: String
    /// The dashboard's address as people reach it (`--public-url`): notifications link there.
    public var publicURL: String?

    public init(
        repository: String, branch: String = "main", host: String = "127.0.0.1", port: Int = 8080, stateDirectory: String,
        specRoot: String = "environments", pollInterval: Double = 60, webhookSecret: String? = nil, apiToken: String? = nil,
        metricsNeedToken: Bool = false, leaseDuration: Double = 15, maxConcurrentReconciles: Int = 2, holder: String? = nil
    ) {
        self.repository = repository
        self.branch = branch
        self.host = host
        self.port = port
        self.stateDirectory = stateDirectory
        self.specRoot = specRoot
        self.pollInterval = pollInterval
        self.webhookSecret = webhookSecret
        self.apiToken = apiToken
        self.metricsNeedToken = metricsNeedToken
        self.leaseDuration = leaseDuration
        self.maxConcurrentReconciles = maxConcurrentReconciles
        self.holder = holder ?? "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The name of the lease every controller on one state directory competes for.
    static let leaseName = "controller"
}

/// What the parts of a running controller share.
struct ControllerContext: Sendable {
    let configuration: ControllerConfiguration
    let workspace: Workspace
    /// One reconciler for the controller's life: its spec loader caches parsed documents by blob id.
    let reconciler: Reconciler
    let status: ControllerStatus
    let metrics: ControllerMetrics
    let inbox: LoopInbox
    let logger: Logger
    /// The displayable repository URL (credentials removed).
    let repositoryDisplay: String
}

/// The loop's inbox: webhooks, the API and finished reconciles wake it through here.
final class LoopInbox: Sendable {
    enum Message: Sendable {
        case fetchNow(String)
        case sync(String)
        case reconciled(String, ReconcileOutcome)
        /// A health check between reconciles finished.
        case health(EnvironmentHealth)
        case leaseLost(String)
        case tick
        case shutdown
    }

    let messages: AsyncStream<Message>
    private let continuation: AsyncStream<Message>.Continuation

    init() {
        (messages, continuation) = AsyncStream.makeStream(of: Message.self)
    }

    func send(_ message: Message) {
        continuation.yield(message)
    }
}

/// Printed (say in an error from the service group that names the service holding it), the
/// configuration shows where things are, never the API token or the webhook secret.
extension ControllerConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "ControllerConfiguration(repository: \(repository), branch: \(branch), listen: \(host):\(port), stateDirectory: \(stateDirectory), "
            + "apiToken: \(apiToken == nil ? "none" : "set, hidden"), webhookSecret: \(webhookSecret == nil ? "none" : "set, hidden"))"
    }

    public var debugDescription: String { description }

    /// What `dump` and default struct printing of anything holding it show.
    public var customMirror: Mirror {
        Mirror(self, children: ["summary": description], displayStyle: .struct)
    }
}
