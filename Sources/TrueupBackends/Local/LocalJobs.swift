import Foundation
import TrueupCore

/// Jobs as child processes in a scratch folder holding the job's code tree at the commit.
///
/// At most one run per identity: each attempt has its own run folder (`runs/<identity>/attempt-N`)
/// guarded by `JobProcessRunner`'s lock protocol, so a run left behind by a killed trueup is
/// adopted and waited for, never started again.
public struct LocalJobs: JobBackend {
    let store: LocalBackendStore
    let paths: LocalPaths
    /// Where a finished run's outputs go (`JobRunRecord.outputs`).
    let artifacts: any ArtifactStore
    let runner = JobProcessRunner()

    /// `artifacts` defaults to the state directory's own store.
    public init(store: LocalBackendStore, paths: LocalPaths, artifacts: (any ArtifactStore)? = nil) {
        self.store = store
        self.paths = paths
        self.artifacts = artifacts ?? LocalArtifactStore(paths: paths)
    }

    public var passesLocalPaths: Bool { true }

    public func observe(environment: String) async throws -> JobRunHistory {
        try store.jobRunHistory(environment: environment)
    }

    public func run(_ request: JobRunRequest) async throws -> JobRunRecord {
        if let existing = try store.jobRun(identity: request.identity), existing.status == .succeeded {
            return existing
        }
        let base = paths.jobRun(request.identity)
        let maxAttempts = max(1, request.retries + 1)
        var attempt = Self.latestAttempt(in: base)
        var previous = try store.jobRun(identity: request.identity)
        // The attempts this request may make are numbered from here: a failure that an earlier
        // request ran to the end and recorded is asked for again with a fresh set of attempts.
        var firstAttempt = 1
        var exit: JobExit
        if attempt == 0 {
            attempt = 1
            exit = try await start(request, attempt: attempt, base: base)
        } else if let previous, previous.status == .failed, previous.attempts == attempt {
            attempt += 1
            firstAttempt = attempt
            exit = try await start(request, attempt: attempt, base: base)
        } else {
            // An attempt is recorded as running: a killed trueup left it; adopt or read it.
            exit = try await resume(request, attempt: attempt, base: base, record: previous)
        }
        while true {
            if case .exited(0) = exit { break }
            guard attempt - firstAttempt + 1 < maxAttempts else { break }
            // Retries with backoff (DESIGN §3), each in a fresh run folder.
            previous = try await record(request, attempt: attempt, base: base, exit: exit)
            try await Task.sleep(nanoseconds: UInt64(min(8.0, 0.5 * Double(1 << (attempt - 1))) * 1_000_000_000))
            attempt += 1
            exit = try await start(request, attempt: attempt, base: base)
        }
        _ = previous
        return try await record(request, attempt: attempt, base: base, exit: exit)
    }

    /// Picks up an attempt a previous process began: adopt it if running, read it if finished.
    private func resume(_ request: JobRunRequest, attempt: Int, base: String, record: JobRunRecord?) async throws -> JobExit {
        let folder = Self.attemptFolder(base, attempt)
        switch try JobProcessRunner.inspect(runFolder: folder) {
        case .neverStarted:
            return try await start(request, attempt: attempt, base: base, reuseFolder: true)
        case .running:
            let startedAt = record.map { Date(timeIntervalSince1970: $0.startedAt) } ?? Date()
            return try await runner.adopt(runFolder: folder, timeoutSeconds: request.timeoutSeconds, startedAt: startedAt)
        case .finished(let code):
            return .exited(code: code)
        case .timedOut:
            return .timedOut
        case .diedWithoutResult:
            return .diedWithoutResult
        }
    }

    private func start(_ request: JobRunRequest, attempt: Int, base: String, reuseFolder: Bool = false) async throws -> JobExit {
        let folder = Self.attemptFolder(base, attempt)
        let code = (base as NSString).appendingPathComponent("code")
        // Written beside and renamed, so a crash never leaves half a code tree to run; two
        // requests for one identity may get here at once.
        try LocalFiles.createAtomically(code) { try request.materializeCode($0) }
        let output = (folder as NSString).appendingPathComponent("output")
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var environment = request.environmentVariables
        let inherited = ProcessInfo.processInfo.environment
        environment["PATH"] = environment["PATH"] ?? inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        environment["HOME"] = environment["HOME"] ?? inherited["HOME"] ?? "/tmp"
        environment["LANG"] = environment["LANG"] ?? "C.UTF-8"
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment["TRUEUP_OUTPUT_DIR"] = output
        environment["TRUEUP_RUN_ID"] = "\(request.identity.prefix(16))-\(attempt)"
        let now = Date()
        // Intent before the side effect: the record says "running" before the process exists.
        try store.saveJobRun(JobRunRecord(
            identity: request.identity, environment: request.environment, job: request.job, status: .running, attempts: attempt,
            outputLocation: output, logPath: (folder as NSString).appendingPathComponent(JobProcessRunner.RunFile.log),
            commit: request.commit, codeTree: request.codeTree, inputs: request.inputs, candidate: request.candidate,
            startedAt: now.timeIntervalSince1970), at: now.timeIntervalSince1970)
        do {
            let handle = try runner.start(JobLaunch(runFolder: folder, codeFolder: code, command: request.command, environment: environment, timeoutSeconds: request.timeoutSeconds))
            return try await runner.wait(handle)
        } catch let error as JobRunError {
            // Someone else started this attempt in the meantime: wait for theirs instead.
            switch error {
            case .alreadyRunning, .alreadyStarted:
                return try await runner.adopt(runFolder: folder, timeoutSeconds: request.timeoutSeconds, startedAt: now)
            case .neverStarted:
                throw BackendError("\(request.job): \(error)", transient: true)
            }
        }
    }

    /// Records how an attempt ended, with its metrics.
    private func record(_ request: JobRunRequest, attempt: Int, base: String, exit: JobExit) async throws -> JobRunRecord {
        let folder = Self.attemptFolder(base, attempt)
        let output = (folder as NSString).appendingPathComponent("output")
        var status = JobRunRecord.Status.failed
        var exitCode: Int?
        var error: String?
        switch exit {
        case .exited(let code):
            exitCode = Int(code)
            if code == 0 { status = .succeeded } else { error = "exit code \(code)" }
        case .timedOut:
            error = "timed out after \(DurationSyntax.format(request.timeoutSeconds)): its processes were killed"
        case .diedWithoutResult:
            error = "the job's process died without an exit code (killed from outside?)"
        }
        var metrics: [String: Double] = [:]
        let metricsFile = (output as NSString).appendingPathComponent("metrics.json")
        if let data = FileManager.default.contents(atPath: metricsFile) {
            if let object = try? JSONValue.parse(data).objectValue {
                for (key, value) in object { if let number = value.doubleValue { metrics[key] = number } }
            } else if status == .succeeded {
                status = .failed
                error = "metrics.json is not a flat JSON object of numbers: fix what the job writes to $TRUEUP_OUTPUT_DIR/metrics.json"
            }
        }
        var outputs: [String: ArtifactReference] = [:]
        if status == .succeeded {
            do {
                outputs = try await storeOutputs(request, output: output, attemptFolder: folder)
            } catch {
                // The record stays "running": the next request finds the attempt finished and
                // puts the outputs again.
                throw BackendError("\(request.job): its output could not be put into the artifact store: \(error)", transient: true)
            }
        }
        let previous = try store.jobRun(identity: request.identity)
        let now = Date().timeIntervalSince1970
        let record = JobRunRecord(
            identity: request.identity, environment: request.environment, job: request.job, status: status, exitCode: exitCode,
            attempts: attempt, outputLocation: output, metrics: metrics,
            logPath: (folder as NSString).appendingPathComponent(JobProcessRunner.RunFile.log),
            commit: request.commit, codeTree: request.codeTree, inputs: request.inputs, candidate: request.candidate,
            startedAt: previous?.startedAt ?? now, finishedAt: now, error: error, outputs: outputs)
        try store.saveJobRun(record, at: now)
        return record
    }

    /// Puts `model/`, `data/` and `metrics.json` (as a folder holding it) into the artifact
    /// store, with the run as their lineage. Before the record says "succeeded": a crash in
    /// between finds the attempt finished and puts them again (same content, same references).
    private func storeOutputs(_ request: JobRunRequest, output: String, attemptFolder: String) async throws -> [String: ArtifactReference] {
        var outputs: [String: ArtifactReference] = [:]
        func lineage(_ part: JobOutputPart) -> ArtifactLineage {
            ArtifactLineage(run: request.identity, environment: request.environment, job: request.job, commit: request.commit, role: part.rawValue)
        }
        let fm = FileManager.default
        for part in [JobOutputPart.model, .data] {
            let folder = (output as NSString).appendingPathComponent(part.rawValue)
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue {
                outputs[part.rawValue] = try await artifacts.put(folder: folder, lineage: lineage(part))
            }
        }
        let metrics = (output as NSString).appendingPathComponent("metrics.json")
        if fm.fileExists(atPath: metrics) {
            let holder = (attemptFolder as NSString).appendingPathComponent("metrics-artifact")
            try? fm.removeItem(atPath: holder)
            try fm.createDirectory(atPath: holder, withIntermediateDirectories: true)
            try fm.copyItem(atPath: metrics, toPath: (holder as NSString).appendingPathComponent("metrics.json"))
            outputs[JobOutputPart.metrics.rawValue] = try await artifacts.put(folder: holder, lineage: lineage(.metrics))
        }
        return outputs
    }

    static func attemptFolder(_ base: String, _ attempt: Int) -> String {
        (base as NSString).appendingPathComponent("attempt-\(attempt)")
    }

    static func latestAttempt(in base: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return names.compactMap { $0.hasPrefix("attempt-") ? Int($0.dropFirst(8)) : nil }.max() ?? 0
    }
}
