import ArgumentParser
import Foundation
import TrueupCore
import TrueupEngine

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "The pull-request report: what a change does to each environment, and drift already there.",
        discussion: """
            Never runs code from either revision and never writes to a backend or the state store.
            Exit 0 when nothing would change, 2 when something would, 1 when the head revision is invalid for an environment, an environment's actual state cannot be read (reported as unobserved), or on error.
            """
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "The revision the pull request starts from, e.g. origin/main.")
    var base: String

    @Option(name: .long, help: "The pull request's revision, e.g. HEAD.")
    var head: String?

    @Flag(name: .long, help: "Use the working tree's files as the head, to see what uncommitted edits would do.")
    var worktree = false

    @Option(name: .long, help: "Only this environment.")
    var env: String?

    @Option(name: .long, help: "text, json or markdown.")
    var format: OutputFormat = .text

    @Option(name: .long, help: "Read the actual state from a running controller's API instead of --state-dir.")
    var server: String?

    @Option(name: .customLong("api-token-env"), help: "The environment variable holding the controller's API token.")
    var apiTokenEnv: String?

    func validate() throws {
        if worktree == (head != nil) { throw ValidationError(worktree ? "give either --head or --worktree, not both" : "say what to compare with --base: --head REV, or --worktree") }
        if server != nil && repository.stateDir != nil { throw ValidationError("give either --state-dir or --server, not both") }
        if let server, URL(string: server)?.scheme == nil { throw ValidationError("--server must be a URL such as http://127.0.0.1:8080") }
    }

    func run() async throws {
        let report = try await reportingErrors { () -> DiffReport in
            let workspace = try Workspace(repositoryPath: repository.repo, specRoot: repository.path, stateDirectory: repository.stateDir, readOnly: true)
            let source = server.flatMap(URL.init(string:)).map {
                ControllerStateClient(baseURL: $0, token: apiTokenEnv.flatMap { ProcessInfo.processInfo.environment[$0] })
            }
            return try await DiffBuilder(workspace: workspace, actualState: source).build(base: base, head: head ?? "worktree", only: env, worktree: worktree)
        }
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        case .markdown:
            print(DiffRenderer.markdown(report), terminator: "")
        case .text:
            print(DiffRenderer.text(report), terminator: "")
        }
        if report.hasErrors { throw ExitCode(1) }
        if report.hasChanges { throw ExitCode(2) }
    }
}
