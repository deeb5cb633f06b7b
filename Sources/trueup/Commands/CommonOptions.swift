import ArgumentParser

/// Options every command that reads a repository takes.
struct RepositoryOptions: ParsableArguments {
    // Optional, so the help states the default once, in words, rather than as ".".
    @Option(name: .customLong("repo"), help: "The git repository, or any folder inside it (default: the repository enclosing the current folder).")
    var repoOption: String?

    var repo: String { repoOption ?? "." }

    @Option(name: .long, help: "The folder of the repository holding the environments.")
    var path: String = "environments"

    @Option(name: .customLong("state-dir"), help: "Where state, local data and logs live (default: .trueup/ at the repository root).")
    var stateDir: String?
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}
