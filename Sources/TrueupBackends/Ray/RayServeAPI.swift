import Foundation
import TrueupCore

/// The Serve REST API (same dashboard port), as reference/ray.md describes it for Ray 2.60.
/// Configurations are kept as `JSONValue` so that what trueup does not own (other applications,
/// `http_options`) is sent back exactly as Ray reported it.
extension RayClient {
    /// What `GET /api/serve/applications/` reports.
    public struct ServeStatus: Sendable {
        public struct Application: Sendable {
            public var name: String
            /// NOT_STARTED, DEPLOYING, RUNNING, DEPLOY_FAILED, UNHEALTHY or DELETING.
            public var status: String
            public var message: String
            /// The configuration last applied to it; nil for an application not deployed declaratively.
            public var deployedConfig: JSONValue?
            /// Its deployments' names (the ingress class and any it binds), once Serve has built it.
            public var deploymentNames: [String]
            public var lastDeployedTime: Double?
            /// What each deployment that is not healthy reports (the replica's traceback when its
            /// constructor raised): the application's own message only names them.
            public var deploymentMessages: [String: String] = [:]
        }

        public var applications: [String: Application]
        /// The top-level settings a PUT must carry unchanged (`http_options`, `proxy_location`,
        /// `grpc_options`); empty while Serve has not been started on the cluster.
        public var settings: [String: JSONValue]
        /// Where Serve's HTTP proxy listens, when it runs.
        public var httpPort: Int?
    }

    public func serveStatus() async throws -> ServeStatus {
        let response = try await expectOK(.GET, "/api/serve/applications/", what: "reading the Serve applications")
        guard let object = (try? JSONValue.parse(response.body))?.objectValue else {
            throw BackendError("the Ray cluster at \(url) (\(origin)) answered GET /api/serve/applications/ with something that is not what Ray 2.60 sends: \(Self.excerpt(response.text)); check that the URL is a Ray dashboard with Serve installed (ray[serve])")
        }
        var applications: [String: ServeStatus.Application] = [:]
        for (name, app) in object["applications"]?.objectValue ?? [:] {
            applications[name] = ServeStatus.Application(
                name: name, status: app["status"]?.stringValue ?? "UNKNOWN", message: app["message"]?.stringValue ?? "",
                deployedConfig: app["deployed_app_config"].flatMap { $0 == .null ? nil : $0 },
                deploymentNames: (app["deployments"]?.objectValue ?? [:]).keys.sorted(),
                lastDeployedTime: app["last_deployed_time_s"]?.doubleValue,
                deploymentMessages: (app["deployments"]?.objectValue ?? [:]).compactMapValues { deployment in
                    guard deployment["status"]?.stringValue != "HEALTHY", let message = deployment["message"]?.stringValue, !message.isEmpty else { return nil }
                    return message
                })
        }
        var settings: [String: JSONValue] = [:]
        // Serve not started: the controller is empty and there is nothing to keep.
        if let controller = object["controller_info"]?.objectValue, !controller.isEmpty {
            for key in ["http_options", "proxy_location", "grpc_options"] {
                if let value = object[key], value != .null { settings[key] = value }
            }
        }
        return ServeStatus(applications: applications, settings: settings, httpPort: settings["http_options"]?["port"]?.intValue)
    }

    /// Replaces Serve's whole configuration (the API is declarative: an application missing from
    /// `applications` is deleted). Answers at once; the deployment goes on in the background.
    public func putServe(settings: [String: JSONValue], applications: [JSONValue]) async throws {
        var body = settings
        body["applications"] = .array(applications)
        _ = try await expectOK(.PUT, "/api/serve/applications/", json: Data(JSONValue.object(body).canonicalJSON.utf8), what: "applying the Serve configuration")
    }
}
