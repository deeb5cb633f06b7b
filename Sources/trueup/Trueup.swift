// The command line: parse arguments, call the engine, render the result. No logic of its own.
import ArgumentParser

@main
struct Trueup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trueup",
        abstract: "Declarative GitOps reconciler for machine-learning environments.",
        discussion: """
            Exit codes: 0 success and nothing to do, 1 error, 2 changes pending (plan/diff), 3 drift (drift).
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, ValidateCommand.self, PlanCommand.self, ApplyCommand.self, DestroyCommand.self, StopCommand.self,
            DriftCommand.self, DiffCommand.self,
            StatusCommand.self,
            HistoryCommand.self, LogsCommand.self, PromoteCommand.self, NotifyCommand.self, ControllerCommand.self, SchemaInstanceCommand.self,
        ]
    )
}
