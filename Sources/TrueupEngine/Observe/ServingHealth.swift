import Foundation
import TrueupCore
import TrueupGit
import TrueupStore

/// Argo CD's health model, for what an environment serves: read from the serving backend at the
/// moment it is asked, never from the last apply's record.
public enum HealthStatus: String, Codable, Sendable, CaseIterable {
    /// Every deployment answers its health check as applied.
    case healthy = "Healthy"
    /// A rollout is under way (a Ray Serve application DEPLOYING).
    case progressing = "Progressing"
    /// Applied, but the serving backend has nothing of it any more.
    case missing = "Missing"
    /// It runs but is not well: a dead process, a failing health check, a configuration changed
    /// behind trueup's back, an application the cluster reports unhealthy.
    case degraded = "Degraded"
    /// The serving backend could not be asked.
    case unknown = "Unknown"

    /// Worse is larger, in Argo CD's order: an environment is as healthy as its worst deployment.
    var severity: Int {
        switch self {
        case .healthy: 0
        case .progressing: 1
        case .missing: 2
        case .degraded: 3
        case .unknown: 4
        }
    }
}

/// One deployment's observed health.
public struct DeploymentHealth: Codable, Sendable, Equatable {
    public var resource: String
    public var status: HealthStatus
    /// Why, when not healthy.
    public var message: String?
    public var endpoint: String?
    public var pid: Int32?
}

/// An environment's observed health: the worst of its deployments.
public struct EnvironmentHealth: Codable, Sendable, Equatable {
    public var environment: String
    public var status: HealthStatus
    public var deployments: [DeploymentHealth]
    /// When the backend was asked (seconds since 1970).
    public var observedAt: Double
    /// What went wrong asking, for `unknown`.
    public var message: String?

    public init(environment: String, status: HealthStatus, deployments: [DeploymentHealth], observedAt: Double, message: String? = nil) {
        self.environment = environment
        self.status = status
        self.deployments = deployments
        self.observedAt = observedAt
        self.message = message
    }

    /// One line: the status and, when not healthy, the first reason.
    public var summary: String {
        if let message { return "\(status.rawValue): \(message)" }
        guard let worst = deployments.first(where: { $0.status == status && status != .healthy }) else { return status.rawValue }
        return "\(status.rawValue): \(worst.resource) \(worst.message ?? "")".trimmingCharacters(in: .whitespaces)
    }
}

/// Asks an environment's serving backend how its deployments are, cheaply: one `observe` call, no
/// git, no plan. Used by `trueup status` and by the controller between reconciles.
public enum ServingHealth {
    /// The health of `deployments` (the names trueup applied) as `serving` reports them now.
    public static func check(environment: String, deployments: [String], serving: any ServingBackend, now: Double = Date().timeIntervalSince1970) async -> EnvironmentHealth {
        guard !deployments.isEmpty else {
            return EnvironmentHealth(environment: environment, status: .healthy, deployments: [], observedAt: now)
        }
        let observed: [String: DeploymentRecord]
        do {
            observed = try await serving.observe(environment: environment)
        } catch {
            return EnvironmentHealth(environment: environment, status: .unknown, deployments: [], observedAt: now,
                                     message: "the serving backend could not be asked: \(error)")
        }
        let each = deployments.sorted().map { name -> DeploymentHealth in
            let resource = ResourceID(.deployment, name).description
            guard let record = observed[name] else {
                return DeploymentHealth(resource: resource, status: .missing, message: "is not running: `trueup apply` starts it again")
            }
            let pid = record.pid
            if let problem = record.problem {
                return DeploymentHealth(resource: resource, status: .degraded, message: problem, endpoint: record.endpoint)
            }
            if let progress = record.inProgress {
                return DeploymentHealth(resource: resource, status: .progressing, message: progress, endpoint: record.endpoint, pid: pid)
            }
            return DeploymentHealth(resource: resource, status: .healthy, endpoint: record.endpoint, pid: pid)
        }
        let worst = each.map(\.status).max { $0.severity < $1.severity } ?? .healthy
        return EnvironmentHealth(environment: environment, status: worst, deployments: each, observedAt: now)
    }

    /// The health of what trueup applied to `environment`, its backends chosen from the desired
    /// state at the last applied commit (the settings that deployed them). Nil when nothing was applied.
    /// `settings`: those `AppliedSettings.of` gives, when the caller has read them already.
    public static func check(environment name: String, workspace: Workspace, settings known: EnvironmentSettings? = nil) async -> EnvironmentHealth? {
        let now = Date().timeIntervalSince1970
        do {
            let applied = try workspace.store.appliedResources(environment: name)
            let deployments = applied.keys.filter { $0.kind == .deployment }.map(\.name)
            let status = try workspace.store.environmentStatus(name)
            guard let commit = status?.lastAppliedCommit ?? status?.lastAttemptedCommit else { return nil }
            if deployments.isEmpty { return EnvironmentHealth(environment: name, status: .healthy, deployments: [], observedAt: now) }
            guard let settings = try known ?? AppliedSettings.of(environment: name, workspace: workspace) else {
                return EnvironmentHealth(environment: name, status: .unknown, deployments: [], observedAt: now,
                                         message: "its settings at the last applied commit \(commit.prefix(12)) cannot be read")
            }
            return await check(environment: name, deployments: deployments, serving: try workspace.backends(for: settings).serving, now: now)
        } catch {
            return EnvironmentHealth(environment: name, status: .unknown, deployments: [], observedAt: now, message: "\(error)")
        }
    }
}

/// The settings an environment was last applied with (its backends), read from git at that commit.
public enum AppliedSettings {
    /// Nil when nothing was applied, or the commit no longer holds a valid environment of that name.
    public static func of(environment name: String, workspace: Workspace) throws -> EnvironmentSettings? {
        let status = try workspace.store.environmentStatus(name)
        guard let commit = status?.lastAppliedCommit ?? status?.lastAttemptedCommit else { return nil }
        let snapshot = try GitRepository(path: workspace.repositoryRoot).snapshot(at: commit)
        return try Reconciler(workspace: workspace).loadDesiredState(snapshot).environments[name]?.settings
    }
}
