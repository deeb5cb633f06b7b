import ArgumentParser
import Foundation
import TrueupBackends
import TrueupCore
import TrueupEngine
import TrueupStore

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List reconcile runs: trigger, commit, author, outcome, per-action results, and the job runs (gates included) with their exit codes and metrics."
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "Only this environment.")
    var env: String?

    @Option(name: .long, help: "How many runs.")
    var limit: Int = 20

    @Option(name: .long, help: "text or json.")
    var format: OutputFormat = .text

    func run() async throws {
        let (runs, actions, jobRuns) = try await reportingErrors { () -> ([ReconcileRun], [Int64: [ActionRecord]], [Int64: [JobRunRecord]]) in
            let store = try repository.workspace().store
            let runs = try store.runs(environment: env, limit: limit)
            var actions: [Int64: [ActionRecord]] = [:]
            for run in runs { actions[run.id] = try store.actions(runID: run.id) }
            // Only the job runs of the window these runs cover (see `allJobRuns`).
            let since = runs.map(\.startedAt).min() ?? .infinity
            return (runs, actions, JobRunsOfRuns.group(try LocalBackendStore(store: store).allJobRuns(environment: env, updatedSince: since), into: runs))
        }
        if format == .json {
            let items: [JSONValue] = runs.map { run in
                .object([
                    "id": .integer(run.id), "environment": .string(run.environment), "trigger": .string(run.trigger),
                    "commit": .string(run.commit), "author": .string(run.author), "outcome": .string(run.outcome),
                    "startedAt": .number(run.startedAt), "finishedAt": run.finishedAt.map(JSONValue.number) ?? .null,
                    "actions": .array((actions[run.id] ?? []).map { a in
                        .object(["resource": .string(a.resource), "action": .string(a.action), "status": .string(a.status.rawValue),
                                 "idempotencyKey": .string(a.idempotencyKey), "attempts": .integer(Int64(a.attempts)),
                                 "error": a.error.map(JSONValue.string) ?? .null, "log": a.logPath.map(JSONValue.string) ?? .null])
                    }),
                    "jobRuns": .array((jobRuns[run.id] ?? []).map(JobRunsOfRuns.json)),
                ])
            }
            print(JSONValue.array(items).prettyJSON)
            return
        }
        if runs.isEmpty { print("no runs yet\(env.map { " for \($0)" } ?? "")") }
        for run in runs {
            let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: run.startedAt))
            let took = run.finishedAt.map { String(format: " in %.1fs", $0 - run.startedAt) } ?? ""
            print("run \(run.id)  \(run.environment)  \(run.outcome)\(took)  \(run.commit.prefix(12))  \(run.trigger)  \(when)  \(run.author)")
            for action in actions[run.id] ?? [] {
                print("    \(action.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(action.action.padding(toLength: 7, withPad: " ", startingAt: 0)) \(action.resource)\(action.error.map { ": \($0)" } ?? "")")
            }
            let jobs = jobRuns[run.id] ?? []
            if !jobs.isEmpty { print("    job runs (`trueup logs ID\(repository.hintFlags)` shows one's log):") }
            for job in jobs { print("      " + JobRunsOfRuns.line(job)) }
        }
    }
}

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the logs of a reconcile run (its number from `history`) or of a job run (an identity prefix from `history` or `status`)."
    )

    @OptionGroup var repository: RepositoryOptions

    @Argument(help: "A run number from `trueup history`, or the first characters of a job run identity (as `history` and `status` print them).")
    var run: String

    func run() async throws {
        try await reportingErrors {
            let store = try repository.workspace().store
            let local = try LocalBackendStore(store: store)
            if let id = Int64(run), let record = try store.run(id) {
                print("run \(record.id) of \(record.environment) at \(record.commit.prefix(12)): \(record.outcome)")
                var printed = Set<String>()
                for action in try store.actions(runID: id) {
                    print("== \(action.resource) \(action.action): \(action.status.rawValue)\(action.error.map { ": \($0)" } ?? "")")
                    if let path = action.logPath, let text = try? String(contentsOfFile: path, encoding: .utf8) {
                        printed.insert(path)
                        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
                    }
                }
                // The job runs of this apply whose logs no action carries: gates, above all.
                let window = try local.allJobRuns(environment: record.environment, updatedSince: record.startedAt)
                for job in JobRunsOfRuns.group(window, into: [record])[id] ?? [] where !printed.contains(job.logPath) {
                    print("== " + JobRunsOfRuns.line(job))
                    printLog(job)
                }
                return
            }
            let prefix = run.lowercased()
            let matches = try local.jobRuns(identityPrefix: prefix)
            if matches.count > 1 {
                throw EngineError("'\(run)' matches \(matches.count) job runs (\(matches.map { "Job/\($0.job) \($0.identity.prefix(16))" }.joined(separator: ", "))): give more characters")
            }
            if let job = matches.first {
                print(JobRunsOfRuns.line(job) + " in \(job.environment)")
                printLog(job)
                return
            }
            // `status` shows a job's identity as planned without a candidate; a job that only runs
            // as a gate never ran under it, but its gate runs are what the user is after.
            guard prefix.count >= 4, let (environment, job) = try Self.appliedJob(prefix, store: store) else {
                throw EngineError("no run '\(run)': give a run number from `trueup history\(repository.hintFlags)`, or a job run identity prefix (at least 4 characters) from `trueup history` or `trueup status`")
            }
            let runs = try local.jobRuns(environment: environment, job: job)
            guard let latest = runs.max(by: { $0.startedAt < $1.startedAt }) else {
                throw EngineError("Job/\(job) in \(environment) (identity \(run)) has not run yet: `trueup plan --env \(environment)\(repository.hintFlags)` says when it will")
            }
            print("Job/\(job) in \(environment) has not run as identity \(run) on its own; its latest run\(latest.candidate == nil ? "" : " (as a gate)"):")
            print(JobRunsOfRuns.line(latest))
            printLog(latest)
        }
    }

    private func printLog(_ job: JobRunRecord) {
        let text = (try? String(contentsOfFile: job.logPath, encoding: .utf8)) ?? "(no log at \(job.logPath))\n"
        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
    }

    /// The environment and job whose applied identity (as `status` prints it) starts with `prefix`.
    static func appliedJob(_ prefix: String, store: StateStore) throws -> (String, String)? {
        for status in try store.allEnvironmentStatuses() {
            for (id, resource) in try store.appliedResources(environment: status.name) where id.kind == .job {
                if resource.summary?["identity"]?.stringValue?.hasPrefix(prefix) == true { return (status.name, id.name) }
            }
        }
        return nil
    }
}
