import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TrueupCore
import TrueupEngine
import TrueupStore

/// `trueup controller`: the loop and the HTTP server as two services of one service group, which
/// turns SIGTERM and SIGINT into a graceful shutdown of both (the loop first, so the API answers
/// while the running apply finishes).
public struct Controller: Sendable {
    let context: ControllerContext

    /// Opens (creating if needed) the state directory; the repository is cloned by the leader.
    public init(_ configuration: ControllerConfiguration, logger: Logger) throws {
        let state = URL(fileURLWithPath: configuration.stateDirectory).standardizedFileURL.path
        var configuration = configuration
        configuration.stateDirectory = state
        let store = try StateStore(stateDirectory: state)
        if configuration.apiToken == nil {
            let file = try APITokenFile.loadOrCreate(stateDirectory: state)
            configuration.apiToken = file.token
            configuration.apiTokenFile = file.path
            configuration.apiTokenCreated = file.created
        }
        let mirror = (state as NSString).appendingPathComponent("mirror.git")
        let workspace = Workspace(repositoryRoot: mirror, specRoot: configuration.specRoot, stateDirectory: state, store: store)
        let display = RepositoryMirror.redacted(configuration.repository)
        context = ControllerContext(
            configuration: configuration, workspace: workspace, reconciler: Reconciler(workspace: workspace, notifications: NotificationRecorder(publicURL: configuration.publicURL, warn: { logger.warning("\($0)") })),
            status: ControllerStatus(holder: configuration.holder, url: display, branch: configuration.branch),
            metrics: ControllerMetrics(), inbox: LoopInbox(), logger: logger, repositoryDisplay: display)
    }

    /// The HTTP side alone, for tests that drive it in process.
    var router: Router<BasicRequestContext> { Self.router(context) }

    static func router(_ context: ControllerContext) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: AccessControl(token: context.configuration.apiToken ?? "", metricsOpen: !context.configuration.metricsNeedToken))
        APIRoutes(context: context).add(to: router)
        WebhookRoutes(context: context).add(to: router)
        DashboardRoutes(context: context).add(to: router)
        return router
    }

    /// Where the token comes from, for the log: never the token itself.
    static func tokenSource(_ configuration: ControllerConfiguration) -> String {
        guard let file = configuration.apiTokenFile else { return "bearer token from --api-token-env" }
        return "bearer token \(configuration.apiTokenCreated ? "created in" : "read from") \(file) (send it as `Authorization: Bearer $(cat \(file))`; the dashboard asks for it)"
    }

    /// Runs until SIGTERM or SIGINT; returns once the running work is recorded and the lease released.
    public func run() async throws {
        let configuration = context.configuration
        let logger = context.logger
        let app = Application(
            router: Self.router(context),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "trueup"),
            onServerRunning: { [status = context.status] channel in
                logger.info("serving the API and the dashboard", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
                status.update { $0.serving = true }
            },
            logger: logger)
        logger.info("starting", metadata: [
            "repository": "\(context.repositoryDisplay)", "branch": "\(configuration.branch)", "state": "\(configuration.stateDirectory)",
            "poll": "\(DurationSyntax.format(configuration.pollInterval))", "holder": "\(configuration.holder)",
            "webhooks": "\(configuration.webhookSecret == nil ? "refused (no secret)" : "on")", "api": "\(Self.tokenSource(configuration))",
            "metrics": "\(configuration.metricsNeedToken ? "bearer token" : "open")",
        ])
        // A choice, not an accident: a restart, an upgrade or a leader change must not take
        // every local deployment down with it. So the servers are left running on exit, and said so.
        logger.info("local servers outlive the controller: deployments on the local backend keep serving after it stops; stop them with `trueup stop --env ENV --state-dir \(configuration.stateDirectory)`, or remove them with `trueup destroy --env ENV --state-dir \(configuration.stateDirectory)` from a clone of the repository")
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: app),
                    .init(service: ControllerLoop(context: context)),
                    .init(service: NotificationDelivery(context: context)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch where !context.status.snapshot.serving {
            throw ControllerError("cannot serve on \(configuration.host):\(configuration.port) (\(error)): choose another --listen, or stop what uses that port")
        }
        logger.info("stopped")
    }
}

public struct ControllerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
