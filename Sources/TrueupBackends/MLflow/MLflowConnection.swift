import Foundation
import TrueupCore

/// An environment's MLflow server as `spec.backends.registry` names it: `url`, and the token read
/// at run time from the variable `tokenFromEnv` names (DESIGN §1, Secrets: never in git, never
/// printed).
enum MLflowConnection {
    static func client(for settings: EnvironmentSettings.Backend, environment: String, environmentVariables: [String: String] = ProcessInfo.processInfo.environment) throws -> MLflowClient {
        guard let url = settings.url, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw BackendError("environment \(environment): spec.backends.registry.url \(settings.url.map { "\"\($0)\"" } ?? "is missing; it") must be the MLflow tracking server's http(s) URL, e.g. http://127.0.0.1:5000")
        }
        var token: String?
        if let variable = settings.tokenFromEnv {
            guard let value = environmentVariables[variable], !value.isEmpty else {
                throw BackendError("environment \(environment): spec.backends.registry.tokenFromEnv names \(variable), which is not set: export \(variable) with the MLflow token, or remove tokenFromEnv for a server without authentication")
            }
            token = value
        }
        return MLflowClient(server: url, token: token)
    }
}
