import ArgumentParser
import Foundation
import TrueupBackends
import TrueupCore
import TrueupEngine
import TrueupStore

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List reconcile runs: trigger, commit, author, outcome, per-action results."
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "Only this environment.")
    var env: String?

    @Option(name: .long, help: "How many runs.")
    var limit: Int = 20

    @Option(name: .long, help: "text or json.")
    var format: OutputFormat = .text

    func run() async throws {
        let (runs, actions) = try await reportingErrors { () -> ([ReconcileRun], [Int64: [ActionRecord]]) in
            let store = try repository.workspace().store
            let runs = try store.runs(environment: env, limit: limit)
            var actions: [Int64: [ActionRecord]] = [:]
            for run in runs { actions[run.id] = try store.actions(runID: run.id) }
            return (runs, actions)
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
        }
    }
}

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the logs of a reconcile run (its number from `history`) or of a job run (an identity prefix)."
    )

    @OptionGroup var repository: RepositoryOptions

    @Argument(help: "A run number from `trueup history`, or the first characters of a job run identity.")
    var run: String

    func run() async throws {
        try await reportingErrors {
            let store = try repository.workspace().store
            if let id = Int64(run), let record = try store.run(id) {
                print("run \(record.id) of \(record.environment) at \(record.commit.prefix(12)): \(record.outcome)")
                for action in try store.actions(runID: id) {
                    print("== \(action.resource) \(action.action): \(action.status.rawValue)\(action.error.map { ": \($0)" } ?? "")")
                    if let path = action.logPath, let text = try? String(contentsOfFile: path, encoding: .utf8) {
                        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
                    }
                }
                return
            }
            let matches = try LocalBackendStore(store: store).allJobRuns(environment: nil).filter { $0.identity.hasPrefix(run.lowercased()) }
            guard let job = matches.last else {
                throw EngineError("no run '\(run)': give a run number from `trueup history` or a job run identity prefix from `trueup status`")
            }
            guard matches.count == 1 else {
                throw EngineError("'\(run)' matches \(matches.count) job runs: give more characters")
            }
            print("Job/\(job.job) run \(job.identity.prefix(12)) in \(job.environment): \(job.status.rawValue)\(job.exitCode.map { " (exit \($0))" } ?? "")")
            let text = (try? String(contentsOfFile: job.logPath, encoding: .utf8)) ?? "(no log at \(job.logPath))\n"
            print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
        }
    }
}
