import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TrueupCore

/// The Ray dashboard's REST API (Jobs and packages), as facts in reference/ray.md describe it
/// (checked against Ray 2.60). Every call names the cluster's URL in its errors; the token is sent
/// as `Authorization: Bearer` and never appears in any message.
public struct RayClient: Sendable {
    /// The dashboard address, without a trailing slash.
    public let url: String
    let token: String?
    /// Where the URL came from, for error messages (`environment dev: spec.backends.jobs.url`).
    let origin: String

    /// The dashboard answers 403 to a browser-like User-Agent; trueup names itself.
    static let userAgent = "trueup/0.1"

    public init(url: String, token: String?, origin: String) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.token = token
        self.origin = origin
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// One request; a connection failure is a transient `BackendError` saying where and what to check.
    public func send(_ method: HTTPMethod, _ path: String, json: Data? = nil, bytes: Data? = nil, timeoutSeconds: Int64 = 60) async throws -> Response {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        request.headers.add(name: "Accept", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        } else if let bytes {
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.body = .bytes(ByteBuffer(bytes: bytes))
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeoutSeconds))
            let body = try await response.body.collect(upTo: 256 << 20)
            let result = Response(status: Int(response.status.code), body: Data(body.readableBytesView))
            if result.status == 401 || result.status == 403 {
                throw BackendError("the Ray cluster at \(url) (\(origin)) refused \(method.rawValue) \(path) with HTTP \(result.status): \(Self.excerpt(result.text)); check the token (spec.backends.*.tokenFromEnv names the variable holding it)")
            }
            return result
        } catch let error as BackendError {
            throw error
        } catch {
            throw BackendError("cannot reach the Ray cluster at \(url) (\(origin)) for \(method.rawValue) \(path): \(error); check that the head node runs and that the URL is its dashboard address (port 8265 by default)", transient: true)
        }
    }

    /// A request whose answer must be 2xx.
    func expectOK(_ method: HTTPMethod, _ path: String, json: Data? = nil, bytes: Data? = nil, what: String) async throws -> Response {
        let response = try await send(method, path, json: json, bytes: bytes)
        guard (200..<300).contains(response.status) else {
            throw BackendError("the Ray cluster at \(url) (\(origin)) answered \(method.rawValue) \(path) (\(what)) with HTTP \(response.status): \(Self.excerpt(response.text))", transient: response.status >= 500)
        }
        return response
    }

    /// A long answer shortened to its start and its end. The end is kept: the dashboard answers
    /// a failure with a Python traceback, whose last line is the exception that says what went
    /// wrong (the start alone showed only which handler failed).
    static func excerpt(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.count > 600 ? String(trimmed.prefix(200)) + " … " + String(trimmed.suffix(400)) : trimmed
    }

    // MARK: - Jobs

    /// What `GET /api/jobs/{id}` returns (the fields trueup reads).
    public struct JobInfo: Codable, Sendable {
        public var submission_id: String?
        public var status: String
        public var message: String?
        public var start_time: Double?
        public var end_time: Double?
        public var driver_exit_code: Int?
        public var metadata: [String: String]?
        public var entrypoint: String?

        public var isFinal: Bool { ["STOPPED", "SUCCEEDED", "FAILED"].contains(status) }
    }

    /// The job with this submission id; nil when the cluster has none (404).
    public func job(_ submissionID: String) async throws -> JobInfo? {
        let response = try await send(.GET, "/api/jobs/\(submissionID)")
        if response.status == 404 { return nil }
        guard response.status == 200 else {
            throw BackendError("the Ray cluster at \(url) (\(origin)) answered GET /api/jobs/\(submissionID) with HTTP \(response.status): \(Self.excerpt(response.text))", transient: response.status >= 500)
        }
        return try decode(JobInfo.self, response, "GET /api/jobs/\(submissionID)")
    }

    /// Every job the cluster knows.
    public func jobs() async throws -> [JobInfo] {
        let response = try await expectOK(.GET, "/api/jobs/", what: "listing jobs")
        return try decode([JobInfo].self, response, "GET /api/jobs/")
    }

    public struct Submission: Codable, Sendable {
        public var entrypoint: String
        public var submission_id: String
        public var runtime_env: RuntimeEnv
        public var metadata: [String: String]
        public var entrypoint_num_cpus: Double?
        public var entrypoint_num_gpus: Double?
        public var entrypoint_memory: Int?

        public struct RuntimeEnv: Codable, Sendable {
            public var working_dir: String
            public var env_vars: [String: String]
        }
    }

    /// Submits; false when a job with this submission id already exists (Ray answers 500
    /// "already exists": the id stays taken until the job is deleted).
    public func submit(_ submission: Submission) async throws -> Bool {
        let body = try JSONEncoder().encode(submission)
        let response = try await send(.POST, "/api/jobs/", json: body)
        if (200..<300).contains(response.status) { return true }
        if response.status == 500, response.text.contains("already exists") { return false }
        throw BackendError("the Ray cluster at \(url) (\(origin)) refused the job \(submission.submission_id) (POST /api/jobs/, HTTP \(response.status)): \(Self.excerpt(response.text))", transient: response.status >= 500)
    }

    public func stop(_ submissionID: String) async throws {
        _ = try await expectOK(.POST, "/api/jobs/\(submissionID)/stop", what: "stopping the job")
    }

    public func logs(_ submissionID: String) async throws -> String {
        struct Logs: Decodable { var logs: String }
        let response = try await expectOK(.GET, "/api/jobs/\(submissionID)/logs", what: "reading the job's log")
        return try decode(Logs.self, response, "GET /api/jobs/\(submissionID)/logs").logs
    }

    // MARK: - Packages

    /// Whether the cluster holds the working-dir package `name` (`_ray_pkg_<hash>.zip`).
    public func packageExists(_ name: String) async throws -> Bool {
        let response = try await send(.GET, "/api/packages/gcs/\(name)")
        if response.status == 404 { return false }
        guard response.status == 200 else {
            throw BackendError("the Ray cluster at \(url) (\(origin)) answered GET /api/packages/gcs/\(name) with HTTP \(response.status): \(Self.excerpt(response.text))", transient: response.status >= 500)
        }
        return true
    }

    public func uploadPackage(_ name: String, _ zip: Data) async throws {
        _ = try await expectOK(.PUT, "/api/packages/gcs/\(name)", bytes: zip, what: "uploading the job's code package")
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: Response, _ call: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: response.body)
        } catch {
            throw BackendError("the Ray cluster at \(url) (\(origin)) answered \(call) with something that is not what Ray 2.60 sends: \(Self.excerpt(response.text)); check that the URL is a Ray dashboard (Ray 2.x)")
        }
    }
}
