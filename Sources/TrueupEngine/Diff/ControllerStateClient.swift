import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TrueupCore
import TrueupStore

/// Reads an environment's actual state from a running controller (`trueup diff --server URL`), so
/// CI needs no backend credentials: `GET /api/v1/environments/{env}/state` returns
/// `{"observed": ObservedState, "applied": [AppliedResource]}`.
public struct ControllerStateClient: ActualStateSource {
    public let baseURL: URL
    /// Sent as a bearer token when the controller requires one; never printed.
    public let token: String?

    public init(baseURL: URL, token: String?) {
        self.baseURL = baseURL
        self.token = token
    }

    struct Response: Codable {
        var observed: ObservedState
        var applied: [AppliedResource]
    }

    public func actualState(environment: String) async throws -> (ObservedState, [ResourceID: AppliedResource]) {
        let url = baseURL.appendingPathComponent("api/v1/environments/\(environment)/state")
        var request = URLRequest(url: url, timeoutInterval: 30)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            let hint = status == 401 ? "pass the controller's API token in the environment variable named by --api-token-env" : status == 404 ? "the controller does not know environment \(environment)" : "check --server"
            throw EngineError("the controller at \(baseURL.absoluteString) answered \(status) for \(url.path): \(hint)")
        }
        do {
            let decoded = try JSONDecoder().decode(Response.self, from: data)
            return (decoded.observed, Dictionary(decoded.applied.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
        } catch {
            throw EngineError("the controller at \(baseURL.absoluteString) sent state trueup cannot read (\(error)): are both the same version?")
        }
    }
}
