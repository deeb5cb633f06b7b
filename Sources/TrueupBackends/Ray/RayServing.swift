import Foundation
import TrueupCore

/// Deployments as Ray Serve applications through the declarative Serve REST API (DESIGN §7).
///
/// - One application per Deployment, named `<environment>-<name>` and routed at
///   `/<environment>/<name>`: `import_path` from `importPath`, the code tree as a content-addressed
///   working-dir package, `num_replicas`, `user_config` from `config` and `ray_actor_options` from
///   `resources` on each of its deployments, and the contract's variables (`TRUEUP_MODEL_URI` a
///   folder of the shared artifact store the replicas read themselves) in `runtime_env.env_vars`.
/// - Ownership: the API replaces the whole configuration, so every change reads it, replaces only
///   this application and sends everything else (other applications, `http_options`) back as
///   Ray reported it, holding the cluster's lock (`RayClusterLock`).
/// - State lives in the cluster: the application carries `TRUEUP_OWNER`, `TRUEUP_CONFIG_HASH`,
///   `TRUEUP_ASSET_VERSION` and `TRUEUP_APPLIED` (what trueup applied, as canonical JSON) in its
///   variables, so any trueup observes it, and a configuration changed through the Serve API
///   (replicas, config, import path) is reported as drift.
/// - Rollout: DEPLOYING is in progress; an application that reaches DEPLOY_FAILED or UNHEALTHY is
///   put back to its previous configuration (or removed, when it is new) and the deploy fails.
public struct RayServing: ServingBackend {
    let client: RayClient
    let artifacts: any ArtifactStore
    /// How long a rollout may take before it is given up (at least the health timeout).
    let rolloutLimitSeconds: Double

    static let ownerVariable = "TRUEUP_OWNER"
    static let configHashVariable = "TRUEUP_CONFIG_HASH"
    static let assetVersionVariable = "TRUEUP_ASSET_VERSION"
    static let appliedVariable = "TRUEUP_APPLIED"

    public init(url: String, token: String?, environment: String, artifacts: any ArtifactStore, rolloutLimitSeconds: Double = 300) throws {
        let origin = "environment \(environment): spec.backends.serving.url"
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw BackendError("\(origin) is \(url.isEmpty ? "missing" : "\"\(url)\""): the ray backend needs the Ray dashboard's address, e.g. {type: ray, url: \"http://127.0.0.1:8265\"}")
        }
        if artifacts is LocalArtifactStore {
            throw BackendError("environment \(environment): spec.backends.serving is ray, but models would be read from the local artifact store on trueup's own disk, which the Ray cluster cannot read: set spec.artifacts to {type: path, path: <a folder mounted at the same path on trueup's machine and on every node>} (or {type: mlflow} with an MLflow registry)")
        }
        self.client = RayClient(url: url, token: token, origin: origin)
        self.artifacts = artifacts
        self.rolloutLimitSeconds = rolloutLimitSeconds
    }

    /// The model is a folder of the shared store that the replicas read themselves.
    public var passesLocalPaths: Bool { false }

    public static func applicationName(environment: String, name: String) -> String { "\(environment)-\(name)" }
    public static func routePrefix(environment: String, name: String) -> String { "/\(environment)/\(name)" }
    static func owner(environment: String, name: String) -> String { "\(environment)/\(name)" }

    // MARK: - Observe

    public func observe(environment: String) async throws -> [String: DeploymentRecord] {
        let status = try await client.serveStatus()
        var records: [String: DeploymentRecord] = [:]
        for app in status.applications.values where app.status != "DELETING" {
            guard let config = app.deployedConfig, let variables = config["runtime_env"]?["env_vars"]?.objectValue,
                  let owner = variables[Self.ownerVariable]?.stringValue, owner.hasPrefix(environment + "/") else { continue }
            let name = String(owner.dropFirst(environment.count + 1))
            records[name] = DeploymentRecord(
                environment: environment, name: name, configHash: variables[Self.configHashVariable]?.stringValue ?? "",
                assetVersion: variables[Self.assetVersionVariable]?.stringValue ?? "",
                endpoint: endpoint(status, environment: environment, name: name), pid: nil,
                startedAt: app.lastDeployedTime ?? 0, healthPath: "", problem: problem(app, config: config))
            if app.status == "DEPLOYING" || app.status == "NOT_STARTED" {
                records[name]?.inProgress = "the Serve application \(app.name) is \(app.status)"
            }
        }
        return records
    }

    /// What is wrong with an application trueup deployed; nil while it runs or deploys as applied.
    func problem(_ app: RayClient.ServeStatus.Application, config: JSONValue) -> String? {
        if let changed = Self.changesOutsideTrueup(config) {
            return "its Serve configuration was changed outside trueup (\(changed))"
        }
        switch app.status {
        case "RUNNING", "DEPLOYING", "NOT_STARTED": return nil
        default:
            let message = app.message.split(separator: "\n").last.map(String.init) ?? ""
            return "the Serve application \(app.name) is \(app.status)\(message.isEmpty ? "" : ": \(message)")"
        }
    }

    /// What differs between the deployed configuration and the one trueup applied (recorded in
    /// the configuration itself); nil when nothing does.
    static func changesOutsideTrueup(_ deployed: JSONValue) -> String? {
        guard let recorded = deployed["runtime_env"]?["env_vars"]?[appliedVariable]?.stringValue,
              let applied = try? JSONValue.parse(Data(recorded.utf8)) else { return "the record of what trueup applied is missing" }
        let actual = withoutRecord(deployed)
        guard actual != applied else { return nil }
        var changes: [String] = []
        for key in ["import_path", "route_prefix", "runtime_env", "args"] where actual[key] != applied[key] {
            changes.append(key)
        }
        let before = Dictionary((applied["deployments"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for deployment in actual["deployments"]?.arrayValue ?? [] {
            let name = deployment["name"]?.stringValue ?? ""
            for key in Set((deployment.objectValue ?? [:]).keys).union((before[name]?.objectValue ?? [:]).keys).sorted()
            where deployment[key] != before[name]?[key] {
                changes.append("\(name).\(key) \(before[name]?[key]?.canonicalJSON ?? "unset") -> \(deployment[key]?.canonicalJSON ?? "unset")")
            }
        }
        if actual["deployments"]?.arrayValue?.count != applied["deployments"]?.arrayValue?.count { changes.append("deployments") }
        return changes.isEmpty ? "its settings" : changes.joined(separator: ", ")
    }

    static func withoutRecord(_ config: JSONValue) -> JSONValue {
        guard case .object(var object) = config, case .object(var runtime)? = object["runtime_env"],
              case .object(var variables)? = runtime["env_vars"] else { return config }
        variables[appliedVariable] = nil
        runtime["env_vars"] = .object(variables)
        object["runtime_env"] = .object(runtime)
        return .object(object)
    }

    func endpoint(_ status: RayClient.ServeStatus, environment: String, name: String) -> String {
        // The proxy runs on the head node, which is the host trueup reaches the dashboard at.
        let host = URLComponents(string: client.url)?.host ?? "127.0.0.1"
        return "http://\(host):\(status.httpPort ?? 8000)\(Self.routePrefix(environment: environment, name: name))"
    }

    // MARK: - Deploy

    public func deploy(_ request: DeploymentRequest) async throws -> DeploymentRecord {
        guard let importPath = request.importPath, !importPath.isEmpty else {
            throw BackendError("environment \(request.environment): Deployment \(request.name) is served by ray, which needs spec.importPath (the Ray Serve application, e.g. serve:app)")
        }
        let package = try RayCodePackage.make(materialize: request.materializeCode)
        if try await !client.packageExists(package.name) {
            try await client.uploadPackage(package.name, package.zip)
        }
        let name = Self.applicationName(environment: request.environment, name: request.name)
        return try await RayClusterLock.with(url: client.url) {
            let status = try await client.serveStatus()
            let previous = status.applications[name]
            var deployments = previous?.deploymentNames ?? []
            if let previous, let config = previous.deployedConfig, previous.status == "RUNNING",
               config == (try self.application(request, importPath: importPath, package: package, deployments: deployments)) {
                return self.record(request, status, startedAt: previous.lastDeployedTime)
            }
            if deployments.isEmpty {
                // A new application: its deployments' names are only known once Serve has built
                // it, and per-deployment settings must name them.
                let bare = try self.application(request, importPath: importPath, package: package, deployments: [])
                try await self.put(status, replacing: name, with: bare)
                deployments = try await self.waitForDeploymentNames(name, request: request)
            }
            let wanted = try self.application(request, importPath: importPath, package: package, deployments: deployments)
            try await self.put(status, replacing: name, with: wanted)
            let outcome = try await self.waitForRollout(name, wanted: wanted, request: request)
            if let failure = outcome {
                // Back to what served before (or nothing, for a new application).
                try await self.put(status, replacing: name, with: previous?.deployedConfig)
                throw BackendError("environment \(request.environment): Deployment \(request.name): the Serve application \(name) \(failure); it was put back to its previous configuration. Fix spec.importPath or the code, then apply again")
            }
            return self.record(request, try await client.serveStatus(), startedAt: Date().timeIntervalSince1970)
        }
    }

    func record(_ request: DeploymentRequest, _ status: RayClient.ServeStatus, startedAt: Double?) -> DeploymentRecord {
        DeploymentRecord(
            environment: request.environment, name: request.name, configHash: request.configHash, assetVersion: request.assetVersion,
            endpoint: endpoint(status, environment: request.environment, name: request.name), pid: nil,
            startedAt: startedAt ?? Date().timeIntervalSince1970, healthPath: request.healthPath)
    }

    /// The application's configuration as trueup applies it, its record included.
    func application(_ request: DeploymentRequest, importPath: String, package: RayCodePackage, deployments: [String]) throws -> JSONValue {
        var variables: [String: JSONValue] = [:]
        for (key, value) in request.environmentVariables { variables[key] = .string(value) }
        // A model of the shared store reaches the replicas as its folder, as on the local backend.
        if let uri = request.environmentVariables["TRUEUP_MODEL_URI"], artifacts.reference(forURI: uri) != nil, uri.hasPrefix("file://") {
            variables["TRUEUP_MODEL_URI"] = .string(String(uri.dropFirst("file://".count)))
        }
        // A model in MLflow's artifact proxy reaches the replicas as a URI that MLflow's own client
        // downloads (`mlflow.artifacts.download_artifacts(uri)`): the artifact's files folder, with
        // the tracking server beside it. A token the server needs is the cluster's own
        // MLFLOW_TRACKING_TOKEN; trueup never puts one into Serve's configuration.
        if let uri = request.environmentVariables["TRUEUP_MODEL_URI"], let mlflow = artifacts as? MLflowArtifactStore, mlflow.reference(forURI: uri) != nil {
            variables["TRUEUP_MODEL_URI"] = .string(uri + "/files")
            variables["MLFLOW_TRACKING_URI"] = .string(mlflow.server)
        }
        variables[Self.ownerVariable] = .string(Self.owner(environment: request.environment, name: request.name))
        variables[Self.configHashVariable] = .string(request.configHash)
        variables[Self.assetVersionVariable] = .string(request.assetVersion)
        var userConfig: JSONValue?
        if let config = request.environmentVariables["TRUEUP_CONFIG"], let parsed = try? JSONValue.parse(Data(config.utf8)), parsed != .object([:]) {
            userConfig = parsed
        }
        var actorOptions: [String: JSONValue] = [:]
        if let cpus = request.resources.cpus { actorOptions["num_cpus"] = .number(cpus) }
        if let gpus = request.resources.gpus { actorOptions["num_gpus"] = .number(gpus) }
        if let memory = request.resources.memoryMB { actorOptions["memory"] = .integer(Int64(memory) * 1_048_576) }
        var app: [String: JSONValue] = [
            "name": .string(Self.applicationName(environment: request.environment, name: request.name)),
            "route_prefix": .string(Self.routePrefix(environment: request.environment, name: request.name)),
            "import_path": .string(importPath),
            "runtime_env": .object(["working_dir": .string(package.uri), "env_vars": .object(variables)]),
        ]
        if !deployments.isEmpty {
            app["deployments"] = .array(deployments.map { name in
                var deployment: [String: JSONValue] = ["name": .string(name), "num_replicas": .integer(Int64(request.replicas))]
                if let userConfig { deployment["user_config"] = userConfig }
                if !actorOptions.isEmpty { deployment["ray_actor_options"] = .object(actorOptions) }
                return .object(deployment)
            })
        }
        variables[Self.appliedVariable] = .string(JSONValue.object(app).canonicalJSON)
        app["runtime_env"] = .object(["working_dir": .string(package.uri), "env_vars": .object(variables)])
        return .object(app)
    }

    /// Sends Serve's configuration with application `name` replaced by `config` (removed when nil),
    /// every other application and the top-level settings as `status` reported them.
    func put(_ status: RayClient.ServeStatus, replacing name: String, with config: JSONValue?) async throws {
        var applications: [JSONValue] = []
        // An application being deleted is already out of the configuration.
        for app in status.applications.values.sorted(by: { $0.name < $1.name }) where app.name != name && app.status != "DELETING" {
            guard let deployed = app.deployedConfig else {
                throw BackendError("the Serve application \(app.name) on the Ray cluster at \(client.url) was not deployed through the declarative API (it has no deployed_app_config), so the configuration trueup must send would delete it: deploy it with `serve deploy` or the REST API, then apply again")
            }
            applications.append(deployed)
        }
        if let config { applications.append(config) }
        try await client.putServe(settings: status.settings, applications: applications)
    }

    func waitForDeploymentNames(_ name: String, request: DeploymentRequest) async throws -> [String] {
        let began = Date()
        while Date().timeIntervalSince(began) < max(rolloutLimitSeconds, request.healthTimeoutSeconds) {
            guard let app = try await client.serveStatus().applications[name] else {
                throw Self.vanished(name, request: request, url: client.url)
            }
            if !app.deploymentNames.isEmpty { return app.deploymentNames }
            if app.status == "DEPLOY_FAILED" || app.status == "UNHEALTHY" {
                try await RayServing.removeQuietly(client, name)
                throw BackendError("environment \(request.environment): Deployment \(request.name): the Serve application \(name) could not be built (\(app.status)): \(Self.lastLine(app.message)); check spec.importPath (\(request.importPath ?? "")) and the code")
            }
            try await Task.sleep(nanoseconds: 300_000_000)
        }
        throw BackendError("environment \(request.environment): Deployment \(request.name): Serve did not build the application \(name) within \(DurationSyntax.format(max(rolloutLimitSeconds, request.healthTimeoutSeconds))); see the Serve logs in the Ray dashboard at \(client.url)", transient: true)
    }

    /// nil once the application runs `wanted`; otherwise why it failed.
    func waitForRollout(_ name: String, wanted: JSONValue, request: DeploymentRequest) async throws -> String? {
        let began = Date()
        let limit = max(rolloutLimitSeconds, request.healthTimeoutSeconds)
        var last: RayClient.ServeStatus.Application?
        while Date().timeIntervalSince(began) < limit {
            guard let app = try await client.serveStatus().applications[name] else {
                throw Self.vanished(name, request: request, url: client.url)
            }
            last = app
            if app.deployedConfig == wanted {
                switch app.status {
                case "RUNNING": return nil
                case "DEPLOY_FAILED", "UNHEALTHY": return "went to \(app.status): \(Self.why(app))"
                default: break
                }
            }
            try await Task.sleep(nanoseconds: 300_000_000)
        }
        // What Serve said last (a replica waiting for CPUs the cluster lacks says so here).
        let said = last.map { ", \($0.status): \(Self.why($0))" } ?? ""
        return "did not reach RUNNING within \(DurationSyntax.format(limit))\(said)"
    }

    /// The application disappeared right after trueup put it: another change to the whole Serve
    /// configuration, made from elsewhere, dropped it. Trying again puts it back.
    static func vanished(_ name: String, request: DeploymentRequest, url: String) -> BackendError {
        BackendError("environment \(request.environment): Deployment \(request.name): the Serve application \(name) vanished from the Ray cluster at \(url) right after trueup applied it: someone else replaced the whole Serve configuration at the same time (another trueup on another machine, or `serve deploy`); apply again", transient: true)
    }

    /// The application's message, and the last line of each failing deployment's (its exception).
    static func why(_ app: RayClient.ServeStatus.Application) -> String {
        let deployments = app.deploymentMessages.sorted { $0.key < $1.key }.map { "\($0.key): \(lastLine($0.value))" }
        return ([lastLine(app.message)] + deployments).joined(separator: "; ")
    }

    static func lastLine(_ message: String) -> String {
        message.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }).map(String.init) ?? "no message"
    }

    static func removeQuietly(_ client: RayClient, _ name: String) async throws {
        let status = try await client.serveStatus()
        let others = status.applications.values.filter { $0.name != name && $0.status != "DELETING" }.sorted { $0.name < $1.name }.compactMap(\.deployedConfig)
        try await client.putServe(settings: status.settings, applications: others)
    }

    // MARK: - Remove

    public func remove(environment: String, name: String) async throws {
        let app = Self.applicationName(environment: environment, name: name)
        try await RayClusterLock.with(url: client.url) {
            let status = try await client.serveStatus()
            guard status.applications[app] != nil else { return }
            try await self.put(status, replacing: app, with: nil)
        }
    }
}
