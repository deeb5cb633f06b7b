import ArgumentParser
import Foundation
import TrueupBackends
import TrueupEngine
import TrueupStore

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop an environment's local servers without destroying anything.",
        discussion: """
            The deployments the local backend runs for the environment are stopped; their records, aliases, \
            registry versions and runs are kept. The next `trueup plan --env E` shows them down (drift), and \
            `trueup apply --env E` starts them again, on the same ports when free. A controller with selfHeal on \
            restarts them at its next check. Servers on Ray are not touched: `trueup destroy --env E` removes them.
            """
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "The environment whose local servers to stop.")
    var env: String

    func run() async throws {
        try await reportingErrors {
            let (store, stateDirectory) = try openState()
            let serving = LocalServing(store: try LocalBackendStore(store: store), paths: LocalPaths(stateDirectory: stateDirectory))
            let stopped = try await serving.stopServers(environment: env)
            if stopped.isEmpty {
                print("No local server of \(env) is running (state: \(stateDirectory)): nothing to stop.")
                return
            }
            for server in stopped {
                print("stopped Deployment/\(server.name) (pid \(server.pid), \(server.endpoint))")
            }
            print("Stopped \(stopped.count) local server\(stopped.count == 1 ? "" : "s") of \(env); nothing was removed. `trueup apply --env \(env)\(repository.hintFlags) --yes` starts \(stopped.count == 1 ? "it" : "them") again.")
        }
    }

    /// The state directory: `--state-dir` as given (no repository needed), else `.trueup/` at the
    /// repository's root. A state directory that does not exist has nothing to stop.
    private func openState() throws -> (StateStore, String) {
        guard let stateDir = repository.stateDir else {
            let workspace = try repository.workspace()
            return (workspace.store, workspace.stateDirectory)
        }
        let path = ((stateDir as NSString).isAbsolutePath ? stateDir : FileManager.default.currentDirectoryPath + "/" + stateDir) as NSString
        guard FileManager.default.fileExists(atPath: path.standardizingPath) else {
            throw EngineError("no trueup state at \(stateDir): check --state-dir (it is where `trueup apply` kept its state)")
        }
        return (try StateStore(stateDirectory: path.standardizingPath), path.standardizingPath)
    }
}
