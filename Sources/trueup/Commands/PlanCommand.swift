import ArgumentParser
import Foundation
import TrueupCore
import TrueupEngine
import TrueupGit

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

    @Flag(name: .long, help: "Plan the working tree's files instead of a commit, to see what uncommitted edits would do (such a plan is never applied).")
    var worktree = false

    @Option(name: .shortAndLong, help: "Save the plan to this file, for `trueup apply FILE`.")
    var output: String?

    @Option(name: .long, help: "text, json or markdown.")
    var format: OutputFormat = .text

    func validate() throws {
        if worktree && rev != "HEAD" { throw ValidationError("give either --worktree or --rev, not both") }
    }

    func run() async throws {
        let format = format
        let (savedJSON, hasChanges, written) = try await reportingErrors { () async throws -> (String?, Bool, String) in
            let workspace = try repository.workspace()
            let reconciler = Reconciler(workspace: workspace)
            let planned: Reconciler.Planned
            if worktree {
                let snapshot = try GitRepository(path: workspace.repositoryRoot).worktreeSnapshot()
                let desired = try reconciler.loadDesiredState(snapshot)
                planned = try await reconciler.plan(environment: env, desired: desired, snapshot: snapshot, revision: "worktree")
            } else {
                planned = try await reconciler.plan(environment: env, revision: rev)
            }
            let plan = planned.plan
            let savedJSON = output == nil ? nil : try PlanJSON.encode(plan)
            let hasChanges = plan.hasChanges
            // Freeing what a plan of 33,000 resources was made from takes longer than writing the
            // plan out (about 120 ms for the resources alone). So the plan is written out on
            // another core while this one frees. The writer's copy of the changes shares their
            // storage with `planned`, so they too are freed here. Freeing them on the writer
            // instead (its copy made the only one), or the reconciler, was slower: two threads
            // freeing at once wait on each other's allocator locks (18 ms more in 21 runs).
            let writing = Task.detached { [plan = consume plan] in
                // The JSON saved with -o is the JSON shown: encoded once.
                if format == .json, let savedJSON { return savedJSON + "\n" }
                return try Self.written(plan, as: format)
            }
            _ = consume planned
            _ = consume reconciler
            return (savedJSON, hasChanges, try await writing.value)
        }
        if let output, let savedJSON {
            try savedJSON.write(toFile: output, atomically: true, encoding: .utf8)
            note(worktree ? "saved the plan to \(output); it reads the working tree, so apply refuses it: commit, then `trueup plan --env \(env)\(repository.hintFlags) -o \(output)`"
                : "saved the plan to \(output): apply it with `trueup apply \(CommandHints.quoted(output))\(repository.hintFlags)`")
        }
        writeResult(written)
        if hasChanges { throw ExitCode(2) }
    }

    /// The plan as the user asked to see it, ending in a newline.
    static func written(_ plan: Plan, as format: OutputFormat) throws -> String {
        switch format {
        case .json: try PlanJSON.encode(plan) + "\n"
        case .markdown: PlanRenderer.markdown(plan) + "\n"
        case .text: PlanRenderer.text(plan)
        }
    }
}
