import Foundation
import Testing

/// A gate's run can be followed from apply to history to logs: its metrics against its
/// thresholds, its exit code, its identity.
@Suite("gates traced, end to end", .serialized, .timeLimit(.minutes(10)))
struct GateTracingTests {
    @Test("apply shows each gate's metrics against its thresholds; history and logs list the gate's run")
    func gateMetricsInApplyHistoryAndLogs() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }

        let apply = try await fixture.apply()
        // e.g. `gate Job/evaluate-churn of Model/churn-classifier (run 470820108344): auc 0.81 >= 0.75 ✓, latency_p95_ms 3 <= 120 ✓`
        let gateLine = try #require(apply.stderr.split(separator: "\n").first { $0.contains("gate Job/evaluate-churn of Model/churn-classifier") }, "\(apply)")
        #expect(gateLine.contains(#/auc [0-9.]+ >= 0.75 ✓/#), "\(gateLine)")
        #expect(gateLine.contains(#/latency_p95_ms [0-9.e+-]+ <= 120 ✓/#), "\(gateLine)")

        // history lists every job run of the apply, the gate's included, with identity, exit code and metrics.
        let history = try await fixture.history()
        let jobRuns = history.first?["jobRuns"] as? [[String: Any]] ?? []
        let gate = try #require(jobRuns.first { $0["job"] as? String == "Job/evaluate-churn" }, "\(history)")
        #expect((gate["gateOf"] as? String)?.hasPrefix("model:churn-classifier:") == true, "\(gate)")
        #expect(gate["exitCode"] as? Int == 0 && (gate["metrics"] as? [String: Any])?["auc"] is Double, "\(gate)")
        let identity = try #require(gate["identity"] as? String)
        #expect(Set(jobRuns.compactMap { $0["job"] as? String }).isSuperset(of: ["Job/prepare-features", "Job/train-churn", "Job/evaluate-churn", "Job/eval-support-prompt"]), "\(jobRuns)")
        let text = try await fixture.trueup("history", "--env", "dev")
        #expect(text.stdout.contains("Job/evaluate-churn") && text.stdout.contains("run \(identity.prefix(12))") && text.stdout.contains("exit 0") && text.stdout.contains("auc="), "\(text)")

        // logs takes the gate run's identity prefix...
        let logs = try await fixture.trueup("logs", String(identity.prefix(8)))
        #expect(logs.status == 0 && logs.stdout.contains("Job/evaluate-churn"), "\(logs)")
        // ...and the identity `status` prints for the job, which only ever ran as a gate.
        let status = try await fixture.status()
        let shown = try #require(status.state("Job/evaluate-churn", "identity"))
        let fromStatus = try await fixture.trueup("logs", String(shown.prefix(6)))
        #expect(fromStatus.status == 0 && fromStatus.stdout.contains("run \(identity.prefix(12))"), "\(fromStatus)")
        // The reconcile run's logs include the gate's.
        let runLogs = try await fixture.trueup("logs", "\(history.first?["id"] as? Int ?? 0)")
        #expect(runLogs.stdout.contains("== Job/evaluate-churn"), "\(runLogs)")
    }
}
