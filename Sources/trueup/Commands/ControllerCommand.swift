import ArgumentParser
import Foundation
import Logging
import TrueupController
import TrueupCore

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Watch a repository and keep its environments reconciled; serve the API, metrics and a dashboard.",
        discussion: """
            Keeps a bare clone in STATE/mirror.git and fetches it every --poll interval, and at once on a
            signed webhook (POST /api/v1/webhooks/github or /gitlab). An environment is reconciled when
            what it reads from git changed and whenever its interval comes due; it is applied when it says
            `sync: auto` and no sync window forbids it, otherwise the plan is recorded as pending. Drift is
            corrected only where `selfHeal: true`. A commit that is invalid for an environment leaves it at
            its last good revision, with the reason in status, metrics and logs.

            Several controllers may share one state directory: one leads, the others wait and take over
            when it stops. SIGTERM stops taking work, lets the running apply finish, releases the lead
            and exits 0.

            Every /api/v1 call and the dashboard need the API token (`Authorization: Bearer TOKEN`; the
            dashboard asks for it once): the variable named by --api-token-env, else the token the
            controller makes at its first start in STATE/api-token (mode 0600; the log says where, never
            what). Webhooks carry their own signatures instead.

            Dashboard: http://LISTEN/   API: /api/v1/environments, /api/v1/runs   Metrics: /metrics
            """
    )

    @Option(name: .long, help: "The repository to watch: a URL (https://, file://) or a local path.")
    var repo: String

    @Option(name: .long, help: "The branch to follow.")
    var branch: String = "main"

    @Option(name: .long, help: "Where to serve the API and the dashboard, HOST:PORT.")
    var listen: String = "127.0.0.1:8080"

    @Option(name: .customLong("state-dir"), help: "Where state, the mirror, local data and logs live (default: .trueup/ in the repository for a local path, else in the current folder).")
    var stateDir: String?

    @Option(name: .long, help: "The folder of the repository holding the environments.")
    var path: String = "environments"

    @Option(name: .long, help: "How often to fetch the repository, e.g. 60s, 5m.")
    var poll: String = "60s"

    @Option(name: .customLong("webhook-secret-env"), help: "The environment variable holding the webhook secret; without it, webhooks are refused.")
    var webhookSecretEnv: String?

    @Option(name: .customLong("api-token-env"), help: "The environment variable holding the API's bearer token; without it, the controller makes one at its first start and keeps it in STATE/api-token (mode 0600).")
    var apiTokenEnv: String?

    @Flag(name: .customLong("metrics-need-token"), help: "/metrics wants the API token too (by default only /healthz, /readyz and /metrics answer without it).")
    var metricsNeedToken = false

    @Option(name: .customLong("lease-duration"), help: "How long the leader lease lasts unrenewed; a standby takes over this long after a leader dies.")
    var leaseDuration: String = "15s"

    @Option(name: .customLong("public-url"), help: "The dashboard's address as people reach it, e.g. https://trueup.example.com: commit statuses, deployments and events link there.")
    var publicURL: String?

    func validate() throws {
        guard (try? listenAddress()) != nil else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080") }
        guard (DurationSyntax.seconds(poll) ?? 0) >= 1 else { throw ValidationError("--poll must be a duration of at least 1s, e.g. 60s or 5m") }
        if let publicURL, !(publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://")) {
            throw ValidationError("--public-url must start with http:// or https://, e.g. https://trueup.example.com")
        }
        guard (DurationSyntax.seconds(leaseDuration) ?? 0) >= 1 else { throw ValidationError("--lease-duration must be a duration of at least 1s, e.g. 15s") }
        for (option, name) in [("--webhook-secret-env", webhookSecretEnv), ("--api-token-env", apiTokenEnv)] {
            guard let name else { continue }
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw ValidationError("\(option) names \(name), but that environment variable is not set or empty: export it, or leave \(option) out")
            }
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let logger = Logger(label: "trueup.controller")
        let (host, port) = try listenAddress()
        let environment = ProcessInfo.processInfo.environment
        var configuration = ControllerConfiguration(
            repository: repositoryLocation(), branch: branch, host: host, port: port, stateDirectory: stateDirectory(),
            specRoot: path, pollInterval: DurationSyntax.seconds(poll) ?? 60,
            webhookSecret: webhookSecretEnv.flatMap { environment[$0] }, apiToken: apiTokenEnv.flatMap { environment[$0] },
            metricsNeedToken: metricsNeedToken,
            leaseDuration: DurationSyntax.seconds(leaseDuration) ?? 15)
        configuration.publicURL = publicURL
        try await reportingErrors {
            try await Controller(configuration, logger: logger).run()
        }
    }

    private func listenAddress() throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen must be HOST:PORT")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    /// A local path becomes absolute (the controller may run from anywhere); URLs stay as given.
    private func repositoryLocation() -> String {
        if repo.contains("://") || repo.contains("@") && repo.contains(":") { return repo }
        return URL(fileURLWithPath: repo).standardizedFileURL.path
    }

    private func stateDirectory() -> String {
        if let stateDir { return stateDir }
        let location = repositoryLocation()
        if location.hasPrefix("/"), FileManager.default.fileExists(atPath: location + "/.git") {
            return location + "/.trueup"
        }
        return FileManager.default.currentDirectoryPath + "/.trueup"
    }
}
