import Foundation
import Testing
import TrueupBackends
import TrueupCore

/// The Ray head node the Ray tests run against: started once per test process with
/// `scripts/ray-head start --watch <this process>` (its own mount namespace hiding /tmp and the
/// repository; see the script), and stopped by the script's watcher when this process ends,
/// however it ends. Never skipped: without Ray the tests fail saying how to install it.
actor RayHead {
    static let shared = RayHead()

    struct Running: Sendable {
        /// The dashboard (Jobs REST API).
        var url: String
        /// The head's own folder (outside every hidden folder).
        var directory: String
        /// A folder trueup and the cluster both see: the `path` artifact store and job scratch
        /// files live below it.
        var shared: String
        /// How long `ray-head start` took.
        var startSeconds: Double
    }

    private var starting: Task<Running, any Error>?
    private var serving: Task<Serve, any Error>?

    /// Serve as the tests find it: started with its HTTP proxy on a free loopback port, holding
    /// one application that trueup does not own (which every trueup change must leave alone).
    struct Serve: Sendable {
        var httpPort: Int
        var otherApplication: String
    }

    func serve() async throws -> Serve {
        if let serving { return try await serving.value }
        let head = try await running()
        let task = Task.detached { try await Self.startServeRetrying(head) }
        serving = task
        do {
            return try await task.value
        } catch {
            // Not kept: one failed start would otherwise fail every Serve test of the process
            // with the same error, and the next test may well succeed.
            serving = nil
            throw error
        }
    }

    /// Starting Serve on a fresh head is Ray's work, not trueup's, and on a loaded two-core
    /// machine it has failed once in a while (HTTP 500 from the dashboard, raised inside Ray's
    /// `serve_start`). The tests are about what trueup does with Serve, so the start is tried
    /// again, on a new port; the last failure says what the Serve logs say.
    static func startServeRetrying(_ head: Running) async throws -> Serve {
        var failures: [String] = []
        for attempt in 1...3 {
            do {
                return try await startServe(head)
            } catch {
                failures.append("attempt \(attempt): \(error)")
                if attempt < 3 { try await Task.sleep(nanoseconds: 2_000_000_000) }
            }
        }
        throw BackendError("Serve did not start on the test head node: \(failures.joined(separator: "; "))\n\(serveLogTail(head))")
    }

    /// The last lines of the Serve controller's log, which say why Serve did not start.
    static func serveLogTail(_ head: Running) -> String {
        let folder = head.directory + "/ray/session_latest/logs/serve"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix("controller") }.sorted()
        guard let file = files.last, let text = try? String(contentsOfFile: folder + "/" + file, encoding: .utf8) else {
            return "(no Serve controller log in \(folder))"
        }
        return "the end of \(folder)/\(file):\n" + text.split(separator: "\n").suffix(30).joined(separator: "\n")
    }

    static func startServe(_ head: Running) async throws -> Serve {
        let port = try Int(Python.run(["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let package = try await ScratchFolder.with("trueup-other-app") { scratch in
            try Files.write("""
                from ray import serve

                @serve.deployment(ray_actor_options={"num_cpus": 0.1})
                def hello():
                    return "another owner's application"

                app = hello.bind()
                """, to: scratch.file("other_app.py"))
            return try RayCodePackage.make(codeFolder: scratch.path)
        }
        let client = head.client()
        if try await !client.packageExists(package.name) { try await client.uploadPackage(package.name, package.zip) }
        let other = "someone-elses-app"
        try await client.putServe(settings: ["http_options": .object(["host": .string("127.0.0.1"), "port": .integer(Int64(port))])], applications: [
            .object(["name": .string(other), "route_prefix": .string("/someone-else"), "import_path": .string("other_app:app"),
                     "runtime_env": .object(["working_dir": .string(package.uri)])]),
        ])
        let began = Date()
        while try await client.serveStatus().applications[other]?.status != "RUNNING" {
            guard Date().timeIntervalSince(began) < 180 else { throw BackendError("Serve did not start on the test head node within 180 s: see \(head.directory)/ray/session_latest/logs/serve") }
            try await Task.sleep(nanoseconds: 300_000_000)
        }
        // The port Serve actually listens on: after a failed attempt, Serve may already have
        // started on the port that attempt chose, and it keeps its first port.
        return Serve(httpPort: try await client.serveStatus().httpPort ?? port, otherApplication: other)
    }

    func running() async throws -> Running {
        if let starting { return try await starting.value }
        // On a thread of its own: starting the head blocks for many seconds, which on the
        // concurrency pool would hold one of the machine's two pool threads from other tests.
        let task = Task.detached {
            try await withCheckedThrowingContinuation { continuation in
                Thread { continuation.resume(with: Result { try Self.start() }) }.start()
            }
        }
        starting = task
        return try await task.value
    }

    static let repository: String = {
        // Tests/TrueupBackendsTests/Ray/RayHead.swift -> the repository root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func start() throws -> Running {
        let script = (repository as NSString).appendingPathComponent("scripts/ray-head")
        let ray = (repository as NSString).appendingPathComponent(".venv/bin/ray")
        guard FileManager.default.isExecutableFile(atPath: ray) else {
            throw BackendError("the Ray tests need a Ray head node, and Ray is not installed at \(ray): run scripts/setup-deps --test")
        }
        let began = Date()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = ["start", "--watch", String(getpid())]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BackendError("scripts/ray-head start failed (exit \(process.terminationStatus)): \(problems)")
        }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let url = values["url"], let directory = values["dir"] else {
            throw BackendError("scripts/ray-head start printed no url= and dir=: \(text)")
        }
        let shared = (directory as NSString).appendingPathComponent("shared")
        try FileManager.default.createDirectory(atPath: shared + "/store", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: shared + "/scratch", withIntermediateDirectories: true)
        return Running(url: url, directory: directory, shared: shared, startSeconds: Date().timeIntervalSince(began))
    }
}

extension RayHead.Running {
    var store: String { shared + "/store" }
    var scratch: String { shared + "/scratch" }

    func client() -> RayClient { RayClient(url: url, token: nil, origin: "the test head node") }

    /// A Ray jobs backend on this head with the shared path store, its runs recorded in `state`.
    func jobs(_ state: LocalState) throws -> RayJobs {
        try RayJobs(url: url, token: nil, environment: "test", store: state.openStore(), paths: state.paths,
                    artifacts: try PathArtifactStore(path: store))
    }

    /// The submissions Ray holds for one identity, from Ray's own job list.
    func submissions(identity: String) async throws -> [RayClient.JobInfo] {
        try await client().jobs().filter { $0.metadata?["trueup.identity"] == identity }
    }

    /// What Ray reserved for a job's entrypoint: the `required_resources` of its supervisor actor
    /// (`_ray_internal_job_actor_<submission id>`), from Ray's state API.
    func reservedResources(submissionID: String) async throws -> [String: Double] {
        let response = try await client().send(.GET, "/api/v0/actors?detail=1&filter_keys=name&filter_predicates=%3D&filter_values=_ray_internal_job_actor_\(submissionID)")
        struct Answer: Decodable {
            struct Data: Decodable { var result: Actors }
            struct Actors: Decodable { var result: [Actor] }
            struct Actor: Decodable { var required_resources: [String: Double]? }
            var data: Data
        }
        return try JSONDecoder().decode(Answer.self, from: response.body).data.result.result.first?.required_resources ?? [:]
    }
}

/// The tests that change Serve's configuration, one at a time: Serve restamps every application
/// on any PUT, so a check that trueup sent no PUT holds only while no other test sends one.
actor ServeTests {
    static let shared = ServeTests()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func exclusively<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }
}
