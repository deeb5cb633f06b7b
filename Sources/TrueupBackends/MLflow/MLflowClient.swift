import AsyncHTTPClient
import Foundation
import NIOCore
import TrueupCore

/// MLflow's REST API (`/api/2.0/mlflow/...` and the artifact proxy) over AsyncHTTPClient.
///
/// Owns the transport rules and nothing about trueup's resources: JSON bodies with the
/// `Content-Type` the server insists on, the bearer token, timeouts, and retries with backoff for
/// what may pass (connection errors, timeouts, 429, 5xx). The token is only ever put in the
/// `Authorization` header: errors name the server and the call, never the headers, and any echo
/// of the token in a server message is masked.
public struct MLflowClient: Sendable {
    /// The server's base URL, without a trailing slash (what errors show).
    public let server: String
    let token: String?
    let retry: MLflowRetryPolicy
    /// Responses larger than this are refused (a search page of 1,000 versions is a few MB).
    static let maximumResponseBytes = 256 << 20

    public init(server: String, token: String?, retry: MLflowRetryPolicy = .standard) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.retry = retry
    }

    /// A call's outcome as the server gave it.
    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
    }

    // MARK: - JSON calls

    func get<T: Decodable>(_ path: String, query: [(String, String)] = [], as type: T.Type) async throws -> T {
        try decode(T.self, try await call(.GET, path, query: query, body: nil), call: "GET \(path)")
    }

    @discardableResult
    func post(_ path: String, _ body: JSONValue, retrying: Bool = true) async throws -> [UInt8] {
        try await call(.POST, path, body: body, retrying: retrying)
    }

    func post<T: Decodable>(_ path: String, _ body: JSONValue, as type: T.Type, retrying: Bool = true) async throws -> T {
        try decode(T.self, try await call(.POST, path, body: body, retrying: retrying), call: "POST \(path)")
    }

    @discardableResult
    func delete(_ path: String, _ body: JSONValue) async throws -> [UInt8] {
        try await call(.DELETE, path, body: body)
    }

    /// A JSON call under `/api/2.0/mlflow/`; the body, when any, is JSON. Throws `MLflowError`.
    func call(_ method: MLflowMethod, _ path: String, query: [(String, String)] = [], body: JSONValue?, retrying: Bool = true) async throws -> [UInt8] {
        let bytes = body.map { Array($0.canonicalJSON.utf8) }
        return try await send(method, "/api/2.0/mlflow/\(path)", query: query, body: bytes, contentType: bytes == nil ? nil : "application/json", retrying: retrying)
    }

    // MARK: - Artifact proxy

    /// Uploads one file's bytes to `mlflow-artifacts:/<path>`.
    func putArtifact(_ path: String, bytes: [UInt8]) async throws {
        _ = try await send(.PUT, "/api/2.0/mlflow-artifacts/artifacts/\(Self.escapePath(path))", query: [], body: bytes, contentType: "application/octet-stream", retrying: true)
    }

    /// Downloads the file at `mlflow-artifacts:/<path>`.
    func getArtifact(_ path: String) async throws -> [UInt8] {
        try await send(.GET, "/api/2.0/mlflow-artifacts/artifacts/\(Self.escapePath(path))", query: [], body: nil, contentType: nil, retrying: true)
    }

    /// The files and folders directly below `mlflow-artifacts:/<path>` (none when it does not exist).
    func listArtifacts(_ path: String) async throws -> [MLflowAPI.ArtifactFile] {
        let bytes = try await send(.GET, "/api/2.0/mlflow-artifacts/artifacts", query: [("path", path)], body: nil, contentType: nil, retrying: true)
        let listed = try decode(MLflowAPI.ArtifactList.self, bytes, call: "GET mlflow-artifacts/artifacts?path=\(path)").files ?? []
        // The proxy answers with paths relative to the folder listed.
        return listed.map { MLflowAPI.ArtifactFile(path: "\(path)/\($0.path)", isDir: $0.isDir) }
    }

    // MARK: - Transport

    /// One call, tried again with backoff while the failure may pass and the policy's time lasts.
    /// A 4xx other than 429 is the server's answer and is returned at once as an error.
    func send(_ method: MLflowMethod, _ path: String, query: [(String, String)], body: [UInt8]?, contentType: String?, retrying: Bool) async throws -> [UInt8] {
        let callName = "\(method.rawValue) \(path)"
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            let failure: MLflowError
            do {
                let response = try await once(method, path, query: query, body: body, contentType: contentType)
                if (200..<300).contains(response.status) { return response.body }
                failure = MLflowError.fromResponse(server: server, call: callName, status: response.status, body: response.body, mask: mask)
            } catch let error as MLflowError {
                failure = error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failure = MLflowError(server: server, call: callName, status: nil, code: "UNREACHABLE", message: mask(String(describing: error)), transient: true)
            }
            let elapsed = started.duration(to: .now)
            guard retrying, failure.transient, let pause = retry.pause(afterAttempt: attempt, elapsed: elapsed) else {
                var final = failure
                if failure.transient { final.attempts = attempt; final.seconds = elapsed.seconds }
                throw final
            }
            try await Task.sleep(for: pause)
        }
    }

    /// One HTTP exchange, bounded by the policy's per-request timeout (head and body together).
    func once(_ method: MLflowMethod, _ path: String, query: [(String, String)], body: [UInt8]?, contentType: String?) async throws -> Response {
        var url = server + path
        if !query.isEmpty { url += "?" + query.map { "\(Self.escapeQuery($0.0))=\(Self.escapeQuery($0.1))" }.joined(separator: "&") }
        var request = HTTPClientRequest(url: url)
        switch method {
        case .GET: request.method = .GET
        case .POST: request.method = .POST
        case .PUT: request.method = .PUT
        case .PATCH: request.method = .PATCH
        case .DELETE: request.method = .DELETE
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let timeout = retry.requestTimeout
        let callName = "\(method.rawValue) \(path)"
        let server = self.server
        return try await withThrowingTaskGroup(of: Response?.self) { group in
            group.addTask { [request] in
                let response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
                let received = try await response.body.collect(upTo: Self.maximumResponseBytes)
                return Response(status: Int(response.status.code), body: Array(received.readableBytesView))
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw MLflowError(server: server, call: callName, status: nil, code: "TIMEOUT", message: "no complete answer within \(timeout.seconds) s", transient: true)
            }
            return response
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], call: String) throws -> T {
        // A search with no hits answers `{}` (MLflow omits empty lists), so every list is optional.
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes.isEmpty ? Array("{}".utf8) : bytes))
        } catch {
            throw MLflowError(server: server, call: call, status: 200, code: "BAD_RESPONSE", message: "the answer is not the JSON MLflow sends (\(error)); is \(server) an MLflow tracking server?", transient: false)
        }
    }

    /// The text with the token masked: a server or proxy that echoes a header must not leak it.
    func mask(_ text: String) -> String {
        guard let token, token.count >= 4 else { return text }
        return text.replacingOccurrences(of: token, with: "***")
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func escapeQuery(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static func escapePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).map { escapeQuery(String($0)) }.joined(separator: "/")
    }
}

/// The HTTP methods MLflow's API uses.
enum MLflowMethod: String, Sendable {
    case GET, POST, PUT, PATCH, DELETE
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
