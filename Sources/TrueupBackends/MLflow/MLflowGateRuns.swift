import Foundation
import TrueupCore

/// A gate's evaluation as an MLflow run beside the training runs (experiment `trueup/<environment>`):
/// its metrics, the verdict, and the candidate version it judged, so MLflow's UI shows why a
/// version moved forward or did not. Made from the gate tags the engine puts on the version
/// (`trueup.gate.<environment>.<job>.<metric>` = value, `trueup.gates.<environment>` = verdict).
struct MLflowGateRuns: Sendable {
    let client: MLflowClient
    let environment: String

    /// One run per gate job and candidate version; recording the same verdict again finds the run
    /// by its idempotency tag and changes nothing.
    func record(candidate name: String, version: String, kind: String, tags: [String: String]) async throws {
        let prefix = "trueup.gate.\(environment)."
        var metricsByJob: [String: [String: Double]] = [:]
        for (key, value) in tags where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), let number = Double(value) else { continue }
            metricsByJob[String(rest[..<dot]), default: [:]][String(rest[rest.index(after: dot)...])] = number
        }
        guard !metricsByJob.isEmpty else { return }
        let verdict = tags["trueup.gates.\(environment)"] ?? "unknown"
        let upload = MLflowModelUpload(client: client, environment: environment)
        let experiment = try await upload.experimentID()
        for (job, metrics) in metricsByJob.sorted(by: { $0.key < $1.key }) {
            let key = ContentDigest.sha256("gate:\(environment):\(kind):\(name):\(version):\(job):\(verdict)")
            let run = try await upload.findOrCreateRun(experiment: experiment, key: key, name: "\(name) v\(version)", tags: [
                "trueup.job": job, "trueup.environment": environment, "trueup.gate.verdict": verdict,
                "trueup.candidate.\(kind)": name, "trueup.candidate.version": version,
            ])
            guard run.status != "FINISHED" else { continue }
            try await upload.logMetricsAndParams(run: run.run_id, metrics: metrics, params: [:])
            let now = JSONValue.integer(Int64(Date().timeIntervalSince1970 * 1000))
            try await client.post("runs/update", .object(["run_id": .string(run.run_id), "status": .string(verdict == "passed" ? "FINISHED" : "FAILED"), "end_time": now]))
        }
    }
}
