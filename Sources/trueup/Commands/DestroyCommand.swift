import ArgumentParser
import Foundation
import TrueupCore
import TrueupEngine

struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Remove what an environment manages: stop its deployments, remove its aliases. Registry versions and run history are kept.",
        discussion: """
            Shows the plan of what it removes, then asks for 'yes' (`--yes` skips the question; without a terminal \
            and without --yes nothing is removed). The plan is carried out only if the actual state has not changed \
            since it was shown. Afterwards `trueup plan --env E` shows everything to create again, and \
            `trueup apply --env E` creates it from the kept versions and job runs, without retraining.
            """
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "The environment to destroy.")
    var env: String

    @Option(name: .long, help: "The revision whose specs name the environment's resources.")
    var rev: String = "HEAD"

    @Flag(name: .long, help: "Destroy without asking.")
    var yes = false

    @Option(name: .customLong("lock-timeout"), help: "Seconds to wait when an apply holds the environment.")
    var lockTimeout: Double = 0

    func run() async throws {
        let result = try await reportingErrors { () -> ApplyResult? in
            let reconciler = Reconciler(workspace: try repository.workspace())
            let planned = try await reconciler.planDestroy(environment: env, revision: rev)
            let removals = planned.plan.changes.filter { $0.action == .delete }
            print("Destroy plan for environment \(env): \(removals.isEmpty ? "nothing to remove" : PlanRenderer.summary(of: removals))")
            for change in removals {
                print("  \(PlanRenderer.symbol(change.action)) \(change.resource)  \(change.action.rawValue)")
                for reason in change.reasons { print("      because \(reason)") }
            }
            print("Kept: model and prompt versions in the registry, datasets and their versions, job runs with their outputs and logs, the run history.")
            guard !removals.isEmpty else { return nil }
            if !yes {
                try Confirmation.ask("Destroy \(env)?",
                                     withoutTerminal: "refusing to destroy \(env) without confirmation: run it in a terminal, or pass --yes",
                                     cancelled: "destroy cancelled: nothing was removed")
            }
            return try await reconciler.apply(planned, trigger: "destroy", lockWait: lockTimeout, progress: ApplyCommand.printProgress)
        }
        guard let result else { return }
        if result.failures.isEmpty && result.skipped.isEmpty {
            note(Terminal.color("Destroyed \(env): \(result.plan.count(.delete)) removed (run \(result.runID)); `trueup apply --env \(env)\(repository.hintFlags)` creates it again", "32"))
        } else {
            note(Terminal.color("Destroy of \(env) finished with \(result.failures.count) failed and \(result.skipped.count) not removed (run \(result.runID)): `trueup logs \(result.runID)\(repository.hintFlags)` shows why", "31"))
            throw ExitCode(1)
        }
    }
}
