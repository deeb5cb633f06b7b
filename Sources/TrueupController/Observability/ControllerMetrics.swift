import Foundation
import TrueupEngine
import Prometheus
import Synchronization
import TrueupCore

/// The controller's Prometheus metrics, served at `/metrics`.
///
/// - `trueup_reconciles_total{environment,outcome}` and `trueup_reconcile_duration_seconds{environment}`
/// - `trueup_drift_resources{environment,kind}`: resources whose actual state left what was applied
/// - `trueup_pending_changes{environment}`: changes planned but not applied (manual sync, closed window)
/// - `trueup_last_applied_revision_info{environment,commit}` (1) and `trueup_last_applied_timestamp_seconds{environment}`
/// - `trueup_desired_state_ok{environment}`: 0 while the environment is kept at its last good revision
/// - `trueup_source_fetches_total{result}`, `trueup_source_reachable`, `trueup_leader`
/// - `trueup_webhooks_total{provider,result}`
/// - `trueup_notifications_total{receiver,result}`: delivery attempts (delivered, retried, failed)
public final class ControllerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let revisionGauges = Mutex<[String: (commit: String, gauge: Gauge)]>([:])

    public init() {
        // Present from the start, so a scrape before the first event sees them.
        sourceReachable(true)
        leader(false)
    }

    public func reconciled(environment: String, outcome: String, seconds: Double) {
        registry.makeCounter(descriptor: Self.reconciles, labels: [("environment", environment), ("outcome", outcome)]).increment()
        registry.makeDurationHistogram(descriptor: Self.reconcileDuration, labels: [("environment", environment)], buckets: Self.durationBuckets)
            .record(Duration.milliseconds(Int64(seconds * 1000)))
    }

    public func drift(environment: String, byKind counts: [ResourceKind: Int]) {
        for kind in ResourceKind.managed {
            registry.makeGauge(descriptor: Self.drift, labels: [("environment", environment), ("kind", kind.rawValue)]).set(to: Double(counts[kind] ?? 0))
        }
    }

    public func pendingChanges(environment: String, _ count: Int) {
        registry.makeGauge(descriptor: Self.pending, labels: [("environment", environment)]).set(to: Double(count))
    }

    public func lastApplied(environment: String, commit: String, at time: Double) {
        registry.makeGauge(descriptor: Self.lastAppliedTime, labels: [("environment", environment)]).set(to: time)
        revisionGauges.withLock { gauges in
            if let previous = gauges[environment] {
                guard previous.commit != commit else { return }
                registry.unregisterGauge(previous.gauge)
            }
            let gauge = registry.makeGauge(descriptor: Self.lastAppliedRevision, labels: [("environment", environment), ("commit", commit)])
            gauge.set(to: 1.0)
            gauges[environment] = (commit, gauge)
        }
    }

    public func desiredStateOK(environment: String, _ ok: Bool) {
        registry.makeGauge(descriptor: Self.desiredOK, labels: [("environment", environment)]).set(to: ok ? 1 : 0)
    }

    /// One gauge per health status, 1 for the environment's current one (as kube-state-metrics does).
    public func health(environment: String, _ status: String) {
        for candidate in HealthStatus.allCases.map(\.rawValue) {
            registry.makeGauge(descriptor: Self.healthGauge, labels: [("environment", environment), ("status", candidate)]).set(to: candidate == status ? 1 : 0)
        }
    }

    public func fetched(ok: Bool) {
        registry.makeCounter(descriptor: Self.fetches, labels: [("result", ok ? "ok" : "failed")]).increment()
        sourceReachable(ok)
    }

    public func webhook(provider: String, result: String) {
        registry.makeCounter(descriptor: Self.webhooks, labels: [("provider", provider), ("result", result)]).increment()
    }

    public func notification(receiver: String, result: String) {
        registry.makeCounter(descriptor: Self.notifications, labels: [("receiver", receiver), ("result", result)]).increment()
    }

    public func leader(_ leading: Bool) {
        registry.makeGauge(descriptor: Self.leaderGauge).set(to: leading ? 1 : 0)
    }

    private func sourceReachable(_ ok: Bool) {
        registry.makeGauge(descriptor: Self.reachable).set(to: ok ? 1 : 0)
    }

    /// The text exposition format.
    public func render() -> String { registry.emitToString() }

    // MARK: - Names

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "trueup", metricName: metric, unitName: unit, helpText: help)
    }

    static var reconciles: MetricNameDescriptor { name("reconciles", "total", "Reconciles by environment and outcome.") }
    static var reconcileDuration: MetricNameDescriptor { name("reconcile_duration", "seconds", "How long reconciles took, plan and apply.") }
    static var drift: MetricNameDescriptor { name("drift", "resources", "Resources whose actual state differs from what was last applied.") }
    static var pending: MetricNameDescriptor { name("pending", "changes", "Planned changes not applied (manual sync, closed window, blocked).") }
    static var lastAppliedRevision: MetricNameDescriptor { name("last_applied_revision", "info", "The commit last applied to each environment (value 1).") }
    static var lastAppliedTime: MetricNameDescriptor { name("last_applied_timestamp", "seconds", "When each environment was last applied.") }
    static var desiredOK: MetricNameDescriptor { name("desired_state", "ok", "1 when the environment follows the newest commit, 0 while kept at its last good revision.") }
    static var fetches: MetricNameDescriptor { name("source_fetches", "total", "Fetches of the repository by result.") }
    static var reachable: MetricNameDescriptor { name("source", "reachable", "1 when the last fetch of the repository succeeded.") }
    static var leaderGauge: MetricNameDescriptor { name("leader", "", "1 while this controller holds the leader lease.") }
    static var healthGauge: MetricNameDescriptor { name("health", "", "1 for each environment's observed health (Healthy, Progressing, Missing, Degraded, Unknown).") }
    static var webhooks: MetricNameDescriptor { name("webhooks", "total", "Webhook deliveries by provider and result.") }
    static var notifications: MetricNameDescriptor { name("notifications", "total", "Notification delivery attempts by receiver and result (delivered, retried, failed).") }
    static let durationBuckets: [Duration] = [.milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(1800)]
}
