import Foundation
import TrueupCore
import TrueupStore

/// The job runs an apply made, gate runs included, found by environment and time: an apply holds
/// its environment's lock, so the runs that started while it ran are its own.
enum JobRunsOfRuns {
    static func group(_ jobRuns: [JobRunRecord], into runs: [ReconcileRun]) -> [Int64: [JobRunRecord]] {
        var grouped: [Int64: [JobRunRecord]] = [:]
        for run in runs {
            let end = run.finishedAt ?? .infinity
            grouped[run.id] = jobRuns.filter { $0.environment == run.environment && $0.startedAt >= run.startedAt && $0.startedAt <= end }
                .sorted { $0.startedAt < $1.startedAt }
        }
        return grouped
    }

    /// `Job/evaluate-churn  run 470820108344  gate of model:churn-classifier:2  succeeded (exit 0)  auc=0.81`
    static func line(_ job: JobRunRecord) -> String {
        var text = "Job/\(job.job)".padding(toLength: 28, withPad: " ", startingAt: 0) + " run \(job.identity.prefix(12))"
        if let candidate = job.candidate { text += "  gate of \(candidate)" }
        text += "  \(job.status.rawValue)\(job.exitCode.map { " (exit \($0))" } ?? "")"
        if !job.metrics.isEmpty { text += "  " + metrics(job.metrics) }
        if let error = job.error, job.status == .failed { text += ": \(error)" }
        return text
    }

    static func metrics(_ metrics: [String: Double]) -> String {
        metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(format: "%g", $0.value))" }.joined(separator: " ")
    }

    static func json(_ job: JobRunRecord) -> JSONValue {
        .object([
            "job": .string("Job/\(job.job)"), "identity": .string(job.identity), "status": .string(job.status.rawValue),
            "exitCode": job.exitCode.map { .integer(Int64($0)) } ?? .null, "attempts": .integer(Int64(job.attempts)),
            "gateOf": job.candidate.map(JSONValue.string) ?? .null,
            "metrics": .object(job.metrics.mapValues(JSONValue.number)), "log": .string(job.logPath),
            "startedAt": .number(job.startedAt), "finishedAt": job.finishedAt.map(JSONValue.number) ?? .null,
        ])
    }
}
