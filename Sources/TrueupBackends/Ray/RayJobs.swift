import Foundation
import TrueupCore

/// Jobs on a Ray cluster through its Jobs REST API (DESIGN §7).
///
/// - Code: the job's code tree plus trueup's runner (`RayJobRunner`) as a deterministic zip named
///   by its content hash, uploaded once (GET first, PUT only on 404).
/// - Submission: `trueup-<identity>-<attempt>`, looked up first, POSTed on 404; a 500 "already
///   exists" is a submission someone else made (another trueup, or this one before a crash).
///   Each attempt is recorded as running in trueup's state before it is submitted, so a trueup
///   killed meanwhile finds it again and adopts it: never a second submission of one attempt.
/// - Timeout: enforced by trueup, which stops the job through the API once it has run longer.
/// - Logs: copied into `<state>/runs/<identity>/attempt-N/job.log`, where `trueup logs` reads them.
/// - Outputs: the runner puts them into the environment's artifact store; trueup checks them there.
///
/// Runs are recorded in the local backend's run table (by identity), like local runs.
public struct RayJobs: JobBackend {
    let client: RayClient
    let store: LocalBackendStore
    let paths: LocalPaths
    let artifacts: any ArtifactStore
    let runnerStore: RayJobRunner.Spec.Store
    /// The interpreter that runs the runner on the cluster's nodes.
    let python: String
    /// How long a job may wait for the cluster to start it before it is given up.
    let pendingLimitSeconds: Double

    /// Refuses an artifact store the cluster cannot read: trueup's own disk (`local`).
    public init(
        url: String, token: String?, environment: String, store: LocalBackendStore, paths: LocalPaths,
        artifacts: any ArtifactStore, python: String = "python3", pendingLimitSeconds: Double = 600
    ) throws {
        let origin = "environment \(environment): spec.backends.jobs.url"
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw BackendError("\(origin) is \(url.isEmpty ? "missing" : "\"\(url)\""): the ray backend needs the Ray dashboard's address, e.g. {type: ray, url: \"http://127.0.0.1:8265\"}")
        }
        if artifacts is LocalArtifactStore {
            throw BackendError("environment \(environment): spec.backends.jobs is ray, but job outputs would go to the local artifact store on trueup's own disk, which the Ray cluster cannot read: set spec.artifacts to {type: path, path: <a folder mounted at the same path on trueup's machine and on every node>} (or {type: mlflow} with an MLflow registry)")
        }
        // The runner on the nodes reads and writes the same store: the shared folder, or the
        // tracking server's artifact proxy at the URL trueup uses (the nodes must reach it too).
        let runnerStore: RayJobRunner.Spec.Store
        if let shared = artifacts as? PathArtifactStore {
            runnerStore = .init(type: "path", root: shared.root)
        } else if let mlflow = artifacts as? MLflowArtifactStore {
            runnerStore = .init(type: "mlflow", root: nil, url: mlflow.server)
        } else {
            throw BackendError("environment \(environment): spec.backends.jobs is ray, and its job runner cannot reach this environment's artifact store: set spec.artifacts to {type: path, path: <a folder mounted at the same path on trueup's machine and on every node>}, or {type: mlflow} with an MLflow registry")
        }
        self.client = RayClient(url: url, token: token, origin: origin)
        self.store = store
        self.paths = paths
        self.artifacts = artifacts
        self.runnerStore = runnerStore
        self.python = python
        self.pendingLimitSeconds = pendingLimitSeconds
    }

    /// The token in the variable `tokenFromEnv` names; an unset variable is an error (a request
    /// without the token would only fail later with a less helpful 401).
    public static func token(_ settings: EnvironmentSettings.Backend, environment: String, role: String) throws -> String? {
        guard let variable = settings.tokenFromEnv else { return nil }
        guard let token = ProcessInfo.processInfo.environment[variable], !token.isEmpty else {
            throw BackendError("environment \(environment): spec.backends.\(role).tokenFromEnv is \(variable), but that variable is not set: export \(variable) with the Ray cluster's token, or remove tokenFromEnv")
        }
        return token
    }

    /// Job inputs are handed over as artifact URIs; the runner makes them local paths on the node.
    public var passesLocalPaths: Bool { false }

    public func observe(environment: String) async throws -> JobRunHistory {
        try store.jobRunHistory(environment: environment)
    }

    /// `trueup-<identity, up to 40 characters>-<attempt>`.
    public static func submissionID(identity: String, attempt: Int) -> String {
        let safe = identity.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "-" }
        return "trueup-\(String(safe.prefix(40)))-\(attempt)"
    }

    public func run(_ request: JobRunRequest) async throws -> JobRunRecord {
        let previous = try store.jobRun(identity: request.identity)
        if let previous, previous.status == .succeeded { return previous }
        let maxAttempts = max(1, request.retries + 1)
        var attempt = 1
        var firstAttempt = 1
        var adopting = false
        if let previous {
            if previous.status == .running {
                // A trueup that was killed left this attempt: adopt it (it may be submitted, or not yet).
                attempt = previous.attempts
                adopting = true
            } else {
                // A failure an earlier request recorded: asked again, with a fresh set of attempts.
                attempt = previous.attempts + 1
                firstAttempt = attempt
            }
        }
        while true {
            let record = try await runAttempt(request, attempt: attempt, adopting: adopting, previous: adopting ? previous : nil)
            if record.status == .succeeded || attempt - firstAttempt + 1 >= maxAttempts { return record }
            // Retries with backoff (DESIGN §3), each a new submission.
            try await Task.sleep(nanoseconds: UInt64(min(8.0, 0.5 * Double(1 << min(attempt - 1, 4))) * 1_000_000_000))
            attempt += 1
            adopting = false
        }
    }

    func logPath(_ identity: String, _ attempt: Int) -> String {
        (paths.jobRun(identity) as NSString).appendingPathComponent("attempt-\(attempt)/job.log")
    }

    /// One attempt: recorded, submitted unless it already is, waited for, and recorded again.
    private func runAttempt(_ request: JobRunRequest, attempt: Int, adopting: Bool, previous: JobRunRecord?) async throws -> JobRunRecord {
        let id = Self.submissionID(identity: request.identity, attempt: attempt)
        let location = "\(client.url)/api/jobs/\(id)"
        let started = previous?.startedAt ?? Date().timeIntervalSince1970
        if !adopting {
            // Intent before the side effect: the record says "running" before the job exists.
            try store.saveJobRun(JobRunRecord(
                identity: request.identity, environment: request.environment, job: request.job, status: .running, attempts: attempt,
                outputLocation: location, logPath: logPath(request.identity, attempt), commit: request.commit, codeTree: request.codeTree,
                inputs: request.inputs, candidate: request.candidate, startedAt: started), at: started)
        }
        if try await client.job(id) == nil {
            let package = try RayCodePackage.make(materialize: request.materializeCode)
            if try await !client.packageExists(package.name) {
                try await client.uploadPackage(package.name, package.zip)
            }
            _ = try await client.submit(try await submission(request, id: id, attempt: attempt, package: package))
        }
        let (info, timedOut) = try await wait(for: id, request: request)
        return try await record(request, attempt: attempt, id: id, info: info, timedOut: timedOut, startedAt: started)
    }

    func submission(_ request: JobRunRequest, id: String, attempt: Int, package: RayCodePackage) async throws -> RayClient.Submission {
        var env = request.environmentVariables
        var fetched: [String: String] = [:]
        var files: [String: String] = [:]
        for (name, value) in request.environmentVariables.sorted(by: { $0.key < $1.key })
        where name.hasPrefix("TRUEUP_INPUT_") || name.hasPrefix("TRUEUP_CANDIDATE_") {
            if artifacts.reference(forURI: value) != nil {
                fetched[name] = value
                env[name] = nil
            } else if value.hasPrefix("/"), FileManager.default.fileExists(atPath: value) {
                // A file or folder only trueup's disk holds (a dataset of the local catalog):
                // staged into the shared store, so the runner fetches it like any artifact.
                let (reference, file) = try await stage(value, request: request, variable: name)
                fetched[name] = reference.uri
                files[name] = file
                env[name] = nil
            }
        }
        let spec = RayJobRunner.Spec(
            command: request.command, env: env, artifacts: fetched, artifactFiles: files, runId: "\(request.identity.prefix(16))-\(attempt)",
            lineage: .init(run: request.identity, environment: request.environment, job: request.job, commit: request.commit),
            store: runnerStore)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let specJSON = String(decoding: try encoder.encode(spec), as: UTF8.self)
        return RayClient.Submission(
            entrypoint: "\(python) \(RayJobRunner.fileName)", submission_id: id,
            runtime_env: .init(working_dir: package.uri, env_vars: [RayJobRunner.specVariable: specJSON]),
            metadata: [
                "trueup.environment": request.environment, "trueup.job": request.job, "trueup.commit": request.commit,
                "trueup.identity": request.identity, "trueup.attempt": String(attempt),
            ],
            entrypoint_num_cpus: request.resources.cpus, entrypoint_num_gpus: request.resources.gpus,
            entrypoint_memory: request.resources.memoryMB.map { $0 * 1_048_576 })
    }

    /// Puts a local input into the artifact store: a folder as it is, a file inside a folder of
    /// its own (returned with its name, which the runner appends to the fetched folder).
    func stage(_ path: String, request: JobRunRequest, variable: String) async throws -> (ArtifactReference, file: String?) {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        do {
            if isDirectory.boolValue { return (try await artifacts.put(folder: path, lineage: nil), nil) }
            let holder = (NSTemporaryDirectory() as NSString).appendingPathComponent("trueup-ray-input-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(atPath: holder) }
            let name = (path as NSString).lastPathComponent
            try FileManager.default.createDirectory(atPath: holder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: path, toPath: (holder as NSString).appendingPathComponent(name))
            return (try await artifacts.put(folder: holder, lineage: nil), name)
        } catch {
            throw BackendError("\(request.job): its input \(variable) is \(path), on trueup's disk only, and it could not be copied into the artifact store for the Ray cluster: \(error)")
        }
    }

    /// Polls until the job is final. The timeout counts from when the job runs (seen RUNNING
    /// here, or Ray's start time for a job adopted already running), not while it waits for the
    /// cluster; a job that overruns it is stopped through the API.
    private func wait(for id: String, request: JobRunRequest) async throws -> (RayClient.JobInfo, timedOut: Bool) {
        let submittedSeen = Date().timeIntervalSince1970
        var runningSince: Double?
        var firstPoll = true
        var interval = 0.2
        var stopRequested: (at: Double, timedOut: Bool)?
        while true {
            guard let info = try await client.job(id) else {
                throw BackendError("the Ray job \(id) of \(request.job) vanished from the cluster at \(client.url) (deleted from outside trueup?): apply again to submit it again", transient: true)
            }
            let now = Date().timeIntervalSince1970
            if info.isFinal { return (info, stopRequested?.timedOut ?? false) }
            if info.status == "RUNNING", runningSince == nil {
                // Already running at the first look (adopted after a crash): from Ray's start time.
                runningSince = firstPoll ? min(info.start_time.map { $0 / 1000 } ?? now, now) : now
            }
            firstPoll = false
            if stopRequested == nil {
                if let runningSince, now - runningSince > request.timeoutSeconds {
                    try await client.stop(id)
                    stopRequested = (now, true)
                } else if runningSince == nil, now - submittedSeen > max(pendingLimitSeconds, request.timeoutSeconds) {
                    try await client.stop(id)
                    stopRequested = (now, false)
                }
            } else if let stopRequested, now - stopRequested.at > 60 {
                throw BackendError("the Ray job \(id) of \(request.job) was asked to stop but is still \(info.status) a minute later; stop it in the Ray dashboard at \(client.url), then apply again", transient: true)
            }
            try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
            interval = min(2, interval * 1.5)
        }
    }

    /// Copies the log, reads the runner's result, checks the outputs in the artifact store and
    /// records how the attempt ended.
    private func record(_ request: JobRunRequest, attempt: Int, id: String, info: RayClient.JobInfo, timedOut: Bool, startedAt: Double) async throws -> JobRunRecord {
        let log = (try? await client.logs(id)) ?? ""
        let logPath = logPath(request.identity, attempt)
        try FileManager.default.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(log.utf8).write(to: URL(fileURLWithPath: logPath), options: .atomic)
        let result = RayJobRunner.result(inLog: log)
        var status = JobRunRecord.Status.failed
        var exitCode = result?.exitCode ?? info.driver_exit_code
        var error: String?
        var outputs: [String: ArtifactReference] = [:]
        var metrics: [String: Double] = [:]
        switch info.status {
        case "STOPPED":
            exitCode = nil
            error = timedOut
                ? "timed out after \(DurationSyntax.format(request.timeoutSeconds)): trueup stopped the Ray job \(id) through the Jobs API"
                : "the Ray job \(id) was stopped \(info.message.map { "(\($0))" } ?? "") before it finished: it waited longer than \(DurationSyntax.format(max(pendingLimitSeconds, request.timeoutSeconds))) for the cluster to start it, or someone stopped it; check the resources it asks for"
        case "SUCCEEDED" where result?.error == nil && result?.exitCode == 0:
            status = .succeeded
            outputs = result?.outputs ?? [:]
        default:
            if let message = result?.error {
                error = message
            } else if let exitCode, exitCode != 0 {
                error = "exit code \(exitCode)"
            } else if result == nil {
                error = "the Ray job \(id) ended \(info.status) without the runner's result: \(info.message ?? "no message"); see its log \(logPath)"
            } else {
                error = "the Ray job \(id) ended \(info.status): \(info.message ?? "no message")"
            }
        }
        if status == .succeeded {
            do {
                for (part, reference) in outputs {
                    let folder = try await artifacts.get(reference)
                    if part == JobOutputPart.metrics.rawValue, let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent("metrics.json")) {
                        guard let object = try? JSONValue.parse(data).objectValue else {
                            status = .failed
                            error = "metrics.json is not a flat JSON object of numbers: fix what the job writes to $TRUEUP_OUTPUT_DIR/metrics.json"
                            break
                        }
                        for (key, value) in object { if let number = value.doubleValue { metrics[key] = number } }
                    }
                }
            } catch {
                throw BackendError("\(request.job): the Ray job \(id) finished, but its output is not usable in the artifact store: \(error)", transient: true)
            }
        }
        let now = Date().timeIntervalSince1970
        let record = JobRunRecord(
            identity: request.identity, environment: request.environment, job: request.job, status: status, exitCode: exitCode,
            attempts: attempt, outputLocation: "\(client.url)/api/jobs/\(id)", metrics: metrics, logPath: logPath,
            commit: request.commit, codeTree: request.codeTree, inputs: request.inputs, candidate: request.candidate,
            startedAt: startedAt, finishedAt: info.end_time.map { $0 / 1000 } ?? now, error: error, outputs: status == .succeeded ? outputs : [:])
        try store.saveJobRun(record, at: now)
        return record
    }
}
