import ArgumentParser
import Foundation
import TrueupCore
import TrueupEngine

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change in an environment.",
        discussion: "Exit 0 when nothing is to do, 2 when there are changes, 1 on error."
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "The environment to plan.")
    var env: String

    @Option(name: .long, help: "The revision to plan: branch, tag, sha.")
    var rev: String = "HEAD"

    @Option(name: .shortAndLong, help: "Save the plan to this file, for `trueup apply FILE`.")
    var output: String?

    @Option(name: .long, help: "text, json or markdown.")
    var format: OutputFormat = .text

    func run() async throws {
        let plan = try await reportingErrors {
            let workspace = try repository.workspace()
            let reconciler = Reconciler(workspace: workspace)
            let planned = try await reconciler.plan(environment: env, revision: rev)
            return planned.plan
        }
        if let output {
            try PlanJSON.encode(plan).write(toFile: output, atomically: true, encoding: .utf8)
            note("saved the plan to \(output): apply it with `trueup apply \(output)`")
        }
        switch format {
        case .json: print(try PlanJSON.encode(plan))
        case .markdown: print(PlanRenderer.markdown(plan))
        case .text: print(PlanRenderer.text(plan), terminator: "")
        }
        if plan.hasChanges { throw ExitCode(2) }
    }
}
