import Foundation
import TrueupEngine
import Synchronization
import TrueupCore

/// What the loop knows that the state store does not: leadership, the repository as last fetched,
/// each environment's last good desired state and its latest reconcile. The loop writes it; the
/// HTTP API and the dashboard read copies of it.
final class ControllerStatus: Sendable {
    enum Role: Sendable, Equatable, CustomStringConvertible {
        case starting
        /// Waiting for the leader lease, held by `leader` when known.
        case standby(leader: String?)
        case leading(token: Int64)
        case stopping

        var description: String {
            switch self {
            case .starting: "starting"
            case .standby(let leader): "standby" + (leader.map { " (the leader is \($0))" } ?? "")
            case .leading: "leading"
            case .stopping: "stopping"
            }
        }
    }

    struct Source: Sendable {
        var url: String
        var branch: String
        /// The newest commit fetched.
        var head: RevisionInfo?
        var lastFetchAt: Double?
        var lastSuccessfulFetchAt: Double?
        /// Why the last fetch failed; nil when it succeeded.
        var fetchError: String?

        /// A fetch that brought `head` and whose commit, when new, has been read.
        mutating func fetched(_ head: RevisionInfo, at now: Double) {
            self.head = head
            lastFetchAt = now
            lastSuccessfulFetchAt = now
            fetchError = nil
        }
    }

    /// The latest reconcile of one environment, as the loop saw it.
    struct Report: Sendable {
        var finishedAt: Double
        var reason: Scheduler.Reason
        var outcome: ReconcileOutcome.Result
        var message: String
        var revision: String
        /// The plan as it stood: what was applied, or what waits.
        var plan: Plan?
        var drift: [DriftEntry]
        var runID: Int64?
        var failed: [ResourceID: String]
    }

    struct Environment: Sendable {
        var name: String
        /// Its desired state at its last good revision; nil when it was never valid.
        var tracked: TrackedEnvironment?
        /// Why the newest commit was not taken for it.
        var problem: String?
        var report: Report?
        var reconciling = false
        var nextReconcileAt: Double?
        /// The latest health check of its deployments (between reconciles, or after one).
        var health: EnvironmentHealth?

        var settings: EnvironmentSettings? { tracked?.settings }
        var lastGoodRevision: RevisionInfo? { tracked?.revision }
        var desired: DesiredEnvironment? { tracked?.desired }
    }

    struct Snapshot: Sendable {
        var holder: String
        var role: Role = .starting
        var source: Source
        var environments: [String: Environment] = [:]
        var startedAt: Double
        /// The HTTP server is listening: only then does the loop compete for the lease.
        var serving = false

        /// Ready to act: leading, with a desired state read from git at least once.
        var ready: (ok: Bool, reason: String) {
            switch role {
            case .leading:
                if source.head == nil {
                    return (false, "leading, but the repository was not read yet" + (source.fetchError.map { ": \($0)" } ?? ""))
                }
                return (true, "leading at \(source.head!.shortCommit)")
            case .standby(let leader):
                return (false, "standby: another controller\(leader.map { " (\($0))" } ?? "") holds the leader lease; this one takes over when it is released or expires")
            case .starting: return (false, "starting")
            case .stopping: return (false, "stopping: finishing the running work before exiting")
            }
        }
    }

    private let state: Mutex<Snapshot>

    init(holder: String, url: String, branch: String, now: Double = Date().timeIntervalSince1970) {
        state = Mutex(Snapshot(holder: holder, source: Source(url: url, branch: branch), startedAt: now))
    }

    var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }

    func setRole(_ role: Role) { update { $0.role = role } }

    func environment(_ name: String, _ body: (inout Environment) -> Void) {
        update { snapshot in
            var environment = snapshot.environments[name] ?? Environment(name: name)
            body(&environment)
            snapshot.environments[name] = environment
        }
    }
}
