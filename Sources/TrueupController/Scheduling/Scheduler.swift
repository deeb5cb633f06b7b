/// When to fetch the repository and which environments to reconcile, decided as a plain value.
///
/// The scheduler does no I/O and reads no clock: the loop feeds it what happened (`Event`) and the
/// time, and carries out the `Work` it returns. That keeps every rule here testable as a table.
///
/// Rules:
/// - fetch at start, every `pollInterval` after the previous fetch ended, and at once when asked
///   (a webhook);
/// - reconcile an environment when its desired state moved (its fingerprint differs from the one
///   last reconciled), when its `interval` came due, when a sync was requested, or when the
///   environment it promotes from has just applied something;
/// - after a failed reconcile, retry with backoff (never later than the interval);
/// - at most `maxConcurrent` reconciles at once, at most one per environment;
/// - once shutdown is requested, start nothing new.
public struct Scheduler: Sendable, Equatable {
    /// What the loop knows of an environment's desired state at the latest good revision.
    public struct Target: Sendable, Equatable {
        /// Moves whenever anything the environment reads from git moved.
        public var fingerprint: String
        /// Seconds between scheduled reconciliations (`spec.interval`).
        public var interval: Double
        /// `spec.promotion.from`: applying there may unblock this environment.
        public var promotionFrom: String?

        public init(fingerprint: String, interval: Double, promotionFrom: String? = nil) {
            self.fingerprint = fingerprint
            self.interval = interval
            self.promotionFrom = promotionFrom
        }
    }

    public enum Event: Sendable, Equatable {
        /// Fetch now (a webhook arrived).
        case fetchRequested
        case fetchFinished
        /// The desired state at the newest good revision of each environment; an environment
        /// missing from the map was removed from git and is no longer reconciled.
        case desiredState([String: Target])
        /// `POST /api/v1/environments/{env}/sync`.
        case syncRequested(String)
        /// A health check between reconciles found a deployment Degraded or Missing, and the
        /// environment heals itself (`selfHeal`).
        case healthDegraded(String)
        /// `changedSomething`: the reconcile applied at least one action.
        case reconcileFinished(String, succeeded: Bool, changedSomething: Bool)
        case shutdownRequested
    }

    public enum Reason: String, Sendable, Equatable, Codable {
        /// The first reconcile of an environment since this controller started leading.
        case start
        case desiredStateChanged = "changed"
        case intervalDue = "interval"
        case syncRequested = "sync"
        case retry
        case promotionSourceApplied = "promotion"
        /// A health check found a deployment down in an environment that heals itself.
        case healthDegraded = "health"
    }

    public enum Work: Sendable, Equatable {
        case fetch
        case reconcile(String, Reason)
    }

    /// What is known of one environment between reconciles.
    public struct Environment: Sendable, Equatable {
        public var target: Target
        public var reconciledFingerprint: String?
        /// When the last reconcile finished.
        public var lastFinishedAt: Double?
        /// Consecutive failed reconciles.
        public var failures = 0
        public var running = false
        /// The fingerprint being reconciled now.
        var runningFingerprint: String?
        var syncRequested = false
        var promotionSourceApplied = false
        var healthDegraded = false
        /// Removed from git while a reconcile of it ran: forgotten when that reconcile ends.
        var removed = false

        /// When the clock alone makes this environment due.
        public var dueAt: Double? {
            guard let lastFinishedAt else { return nil }
            if failures > 0 { return lastFinishedAt + min(target.interval, Scheduler.retryDelay(failures: failures)) }
            return lastFinishedAt + target.interval
        }
    }

    public let pollInterval: Double
    public let maxConcurrent: Int
    public private(set) var nextFetchAt: Double = 0
    public private(set) var fetching = false
    private var fetchRequested = false
    public private(set) var environments: [String: Environment] = [:]
    public private(set) var stopping = false

    public init(pollInterval: Double, maxConcurrent: Int = 2) {
        self.pollInterval = pollInterval
        self.maxConcurrent = max(1, maxConcurrent)
    }

    /// Nothing is running: the loop may stop once `stopping` is set.
    public var isIdle: Bool { !fetching && !environments.values.contains(where: \.running) }

    /// Backoff after `failures` failed reconciles in a row: 30 s, 1 min, 2 min, ... at most 1 h.
    public static func retryDelay(failures: Int) -> Double {
        min(3600, 30 * Double(1 << min(max(failures - 1, 0), 10)))
    }

    /// Applies `events` in order, then returns the work due at `now` (and marks it started).
    public mutating func nextWork(now: Double, events: [Event]) -> [Work] {
        for event in events { apply(event, now: now) }
        guard !stopping else { return [] }
        var work: [Work] = []
        if !fetching && (fetchRequested || now >= nextFetchAt) {
            fetching = true
            fetchRequested = false
            work.append(.fetch)
        }
        var running = environments.values.filter(\.running).count
        for name in environments.keys.sorted() where running < maxConcurrent {
            guard let reason = reasonToReconcile(name, now: now) else { continue }
            environments[name]!.running = true
            environments[name]!.runningFingerprint = environments[name]!.target.fingerprint
            environments[name]!.syncRequested = false
            environments[name]!.promotionSourceApplied = false
            environments[name]!.healthDegraded = false
            running += 1
            work.append(.reconcile(name, reason))
        }
        return work
    }

    /// The earliest time at which the clock alone will make work due: the loop can sleep until then.
    public func nextDeadline() -> Double {
        var deadline = fetching ? Double.infinity : nextFetchAt
        for environment in environments.values where !environment.running {
            if let due = environment.dueAt { deadline = min(deadline, due) }
        }
        return deadline
    }

    private func reasonToReconcile(_ name: String, now: Double) -> Reason? {
        guard let environment = environments[name], !environment.running, !environment.removed else { return nil }
        if environment.reconciledFingerprint == nil { return .start }
        if environment.syncRequested { return .syncRequested }
        if environment.target.fingerprint != environment.reconciledFingerprint { return .desiredStateChanged }
        if environment.promotionSourceApplied { return .promotionSourceApplied }
        if environment.healthDegraded { return .healthDegraded }
        if let due = environment.dueAt, now >= due { return environment.failures > 0 ? .retry : .intervalDue }
        return nil
    }

    private mutating func apply(_ event: Event, now: Double) {
        switch event {
        case .fetchRequested:
            fetchRequested = true
        case .fetchFinished:
            fetching = false
            nextFetchAt = now + pollInterval
        case .desiredState(let targets):
            for (name, target) in targets {
                if environments[name] == nil {
                    environments[name] = Environment(target: target)
                } else {
                    environments[name]!.target = target
                    environments[name]!.removed = false
                }
            }
            // Removed from git: forget it, once a reconcile of it that is still running has ended.
            for name in environments.keys where targets[name] == nil {
                if environments[name]!.running {
                    environments[name]!.removed = true
                } else {
                    environments[name] = nil
                }
            }
        case .syncRequested(let name):
            environments[name]?.syncRequested = true
        case .healthDegraded(let name):
            environments[name]?.healthDegraded = true
        case .reconcileFinished(let name, let succeeded, let changedSomething):
            guard var environment = environments[name] else { return }
            if environment.removed {
                environments[name] = nil
                return
            }
            environment.running = false
            environment.reconciledFingerprint = environment.runningFingerprint
            environment.runningFingerprint = nil
            environment.lastFinishedAt = now
            environment.failures = succeeded ? 0 : environment.failures + 1
            environments[name] = environment
            if succeeded && changedSomething {
                for (other, value) in environments where value.target.promotionFrom == name {
                    environments[other]!.promotionSourceApplied = true
                }
            }
        case .shutdownRequested:
            stopping = true
        }
    }
}
