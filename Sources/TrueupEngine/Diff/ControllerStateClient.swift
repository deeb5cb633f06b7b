import AsyncHTTPClient
import Foundation
import NIOCore
import TrueupCore
import TrueupStore

/// Reads an environment's actual state from a running controller (`trueup diff --server URL`), so
/// CI needs no backend credentials: `GET /api/v1/environments/{env}/state` returns
/// `{"observed": ObservedState, "applied": [AppliedResource]}`, with only each job's latest run in
/// full; an earlier run is fetched from `GET /api/v1/environments/{env}/job-runs/{identity}`
/// when planning looks it up (see `JobRunHistory.Sent`).
public struct ControllerStateClient: ActualStateSource {
    public let baseURL: URL
    /// Sent as a bearer token when the controller requires one; never printed.
    public let token: String?

    public init(baseURL: URL, token: String?) {
        self.baseURL = baseURL
        self.token = token
    }

    /// The server as errors show it: without any user or password written into the URL.
    var shownURL: String {
        guard var parts = URLComponents(url: baseURL, resolvingAgainstBaseURL: false), parts.user != nil || parts.password != nil else {
            return baseURL.absoluteString
        }
        parts.user = nil
        parts.password = nil
        return parts.string ?? "the --server URL"
    }

    /// The client every request to the controller goes through. A refused connection fails the
    /// request at once: the shared client retries connecting until the request's deadline, so a
    /// controller that was not running kept `diff --server` waiting 30 s before saying so, and
    /// as long again for each earlier job run it then looked up. Never shut down: it lives as
    /// long as the process, as `HTTPClient.shared` does.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    struct Response: Codable {
        var observed: ObservedState
        var applied: [AppliedResource]
    }

    public func actualState(environment: String) async throws -> (ObservedState, [ResourceID: AppliedResource]) {
        let url = baseURL.appendingPathComponent("api/v1/environments/\(environment)/state")
        var request = HTTPClientRequest(url: url.absoluteString)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let data: Data, status: Int
        do {
            let response = try await Self.http.execute(request, timeout: .seconds(30))
            status = Int(response.status.code)
            data = Data(try await response.body.collect(upTo: Self.maximumResponseBytes).readableBytesView)
        } catch {
            throw ControllerUnavailable(description: "cannot reach the controller at \(shownURL) (\(Self.describe(error))): check --server and that the controller is running")
        }
        switch status {
        case 200: break
        case 404:
            // An environment the controller does not know (new in this pull request): nothing of it
            // has been applied, which is exactly what an empty state says.
            return (ObservedState(), [:])
        case 401, 403:
            throw ControllerUnavailable(description: "the controller at \(shownURL) answered \(status): pass its API token in the environment variable named by --api-token-env (the controller's own --api-token-env, or the file api-token in its state directory)")
        case 503:
            throw ControllerUnavailable(description: "the controller at \(shownURL) answered 503 (\(Self.message(data))): point --server at the leading controller")
        default:
            throw EngineError("the controller at \(shownURL) answered \(status) for \(url.path): \(Self.message(data))")
        }
        do {
            let decoded = try JSONDecoder().decode(Response.self, from: data)
            var observed = decoded.observed
            observed.jobRuns = observed.jobRuns.fetchingEarlierRuns { identity in try jobRun(environment: environment, identity: identity) }
            return (observed, Dictionary(decoded.applied.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
        } catch {
            throw ControllerUnavailable(description: "the controller at \(shownURL) sent state trueup cannot read (\(error)): are both the same version of trueup?")
        }
    }

    /// One earlier job run, which the state names by identity only, fetched when planning looks
    /// it up: only a job whose code or inputs went back to those of an earlier run needs one.
    /// Planning is synchronous, so the lookup waits on the planning thread. The HTTP client's
    /// own event-loop threads carry the request, so the wait cannot hold up what it waits for.
    func jobRun(environment: String, identity: String) throws -> JobRunRecord? {
        let url = baseURL.appendingPathComponent("api/v1/environments/\(environment)/job-runs/\(identity)")
        let response: HTTPClient.Response
        do {
            var request = try HTTPClient.Request(url: url.absoluteString)
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            response = try Self.http.execute(request: request, deadline: .now() + .seconds(30)).wait()
        } catch {
            throw JobRunHistory.RunNotFetched("cannot fetch it from the controller at \(shownURL) (\(Self.describe(error))): check that the controller is running, then run the diff again")
        }
        let data = response.body.map { Data($0.readableBytesView) } ?? Data()
        switch response.status.code {
        case 200:
            do {
                return try JSONDecoder().decode(JobRunRecord.self, from: data)
            } catch {
                throw JobRunHistory.RunNotFetched("the controller at \(shownURL) sent a record trueup cannot read (\(error)): are both the same version of trueup?")
            }
        case 404:
            return nil
        default:
            throw JobRunHistory.RunNotFetched("the controller at \(shownURL) answered \(response.status.code) for \(url.path): \(Self.message(data))")
        }
    }

    /// The largest state answer read: far above any real environment's, small enough to refuse a runaway.
    static let maximumResponseBytes = 256 << 20

    /// An HTTP client error in words (AsyncHTTPClient's descriptions are type names).
    static func describe(_ error: any Error) -> String {
        // NIO's own words for it are "connection reset (error set): Connection refused) (errno: 111)".
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return "connection refused: nothing listens there" }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "no answer within 30 s"
            case .remoteConnectionClosed: return "the connection was closed"
            default: return "\(client)"
            }
        }
        return "\(error)"
    }

    /// The `error` of the controller's JSON error body, or a short excerpt of whatever it sent.
    static func message(_ data: Data) -> String {
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let error = object["error"] as? String { return error }
        let text = String(decoding: data.prefix(200), as: UTF8.self)
        return text.isEmpty ? "no details" : text
    }
}

/// The controller cannot serve any environment's state (unreachable, the token refused, not the
/// leader, another version): `trueup diff` stops with this error rather than report every
/// environment as unobserved.
public struct ControllerUnavailable: Error, CustomStringConvertible, Sendable {
    public var description: String
}
