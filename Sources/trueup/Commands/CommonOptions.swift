import ArgumentParser

/// Options every command that reads a repository takes.
struct RepositoryOptions: ParsableArguments {
    @Option(name: .long, help: "The git repository (default: the one enclosing the current folder).")
    var repo: String = "."

    @Option(name: .long, help: "The folder of the repository holding the environments.")
    var path: String = "environments"

    @Option(name: .customLong("state-dir"), help: "Where state, local data and logs live (default: .trueup/ at the repository root).")
    var stateDir: String?
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}
