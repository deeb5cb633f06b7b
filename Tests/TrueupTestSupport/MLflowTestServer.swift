import Foundation
import Glibc

/// A real MLflow server, started by `scripts/mlflow-server` on first use (about 10 s) and stopped
/// by that script's watcher when the test process ends, whichever way it ends: `shared` for the
/// whole test process, and one more for the test that must have the example's model names to
/// itself (`forTheExample`). The tests never skip: without MLflow in the project's .venv they fail and say how
/// to install it. Shared by the backend tests (the registry and artifact store against the server)
/// and the command-line tests (`trueup apply` into it).
public actor MLflowTestServer {
    public static let shared = MLflowTestServer()
    /// A second server, for the test that applies the repository's example unchanged
    /// (`ExampleStagingOnRayTests`): the command-line tests apply the same example to the shared
    /// server and count the versions of its model (`churn-classifier`), so the two must not meet
    /// on one registry. They did when a slower build (AddressSanitizer's) made them overlap.
    public static let forTheExample = MLflowTestServer()

    public struct Running: Sendable {
        /// `http://127.0.0.1:PORT`.
        public var url: String
        public var port: Int
        /// Where the server keeps its database and artifacts.
        public var directory: String
        /// The venv's interpreter, which has MLflow's own client.
        public var python: String
    }

    private var running: Task<Running, any Error>?

    /// The repository's root, from this file's place in it (Tests/TrueupTestSupport/).
    public static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var python: String { "\(repository)/.venv/bin/python" }

    public func start() async throws -> Running {
        if let running { return try await running.value }
        let task = Task { try await Self.launch() }
        running = task
        return try await task.value
    }

    private static func launch() async throws -> Running {
        guard FileManager.default.isExecutableFile(atPath: "\(repository)/.venv/bin/mlflow") else {
            throw TestSupportError("MLflow is not installed in \(repository)/.venv: run scripts/setup-deps --test (it installs mlflow 3.17.2), then run the tests again")
        }
        let output = try await run(["\(repository)/scripts/mlflow-server", "start", "--watch", String(getpid())]).combined
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let url = values["url"], let dir = values["dir"], let port = url.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw TestSupportError("scripts/mlflow-server start printed no url: \(output)")
        }
        return Running(url: url, port: port, directory: dir, python: python)
    }

    /// What a command printed: its standard output alone, and that followed by its standard error.
    public struct Output: Sendable {
        public var stdout: String
        public var combined: String
    }

    /// Runs a command to its end (in `directory`, the repository by default) and returns what it
    /// printed, or an error with that output. Spawned with posix_spawn and reaped by pid:
    /// Foundation's Process never saw `scripts/mlflow-server start` end (its background server
    /// and watcher outlive it), so its wait ran into the timeout.
    public static func run(_ arguments: [String], environment: [String: String] = [:], in directory: String? = nil, timeout: Double = 180) async throws -> Output {
        let logs = NSTemporaryDirectory() + "trueup-mlflow-cmd-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: logs + ".out")
            try? FileManager.default.removeItem(atPath: logs + ".err")
        }
        // Into files, not pipes: what the script starts in the background keeps its output open.
        let shell = ["/bin/sh", "-c", "cd \"$TRUEUP_SPAWN_DIR\" && exec \"$@\" >\"$TRUEUP_SPAWN_LOG.out\" 2>\"$TRUEUP_SPAWN_LOG.err\" </dev/null", "trueup-test"] + arguments
        var merged = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        merged["TRUEUP_SPAWN_LOG"] = logs
        merged["TRUEUP_SPAWN_DIR"] = directory ?? repository
        var argv = shell.map { strdup($0) } + [nil]
        var envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, &envp)
        guard spawned == 0 else { throw TestSupportError("posix_spawn of \(arguments[0]) failed: \(String(cString: strerror(spawned)))") }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) { break }
            if Date() > deadline {
                kill(pid, SIGKILL)
                throw TestSupportError("\(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let stdout = (try? String(contentsOfFile: logs + ".out", encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: logs + ".err", encoding: .utf8)) ?? ""
        let output = Output(stdout: stdout, combined: stdout + stderr)
        // WIFEXITED && WEXITSTATUS == 0, spelled out: Glibc's macros are not imported.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw TestSupportError("\(arguments.joined(separator: " ")) failed (wait status \(status)): \(output.combined)")
        }
        return output
    }

    /// Runs Python code with the venv's interpreter (MLflow's own client) against `url`; what it
    /// printed on standard output (MLflow's warnings go to standard error).
    public static func python(_ code: String, url: String, in directory: String? = nil) async throws -> String {
        try await run([python, "-c", code], environment: ["MLFLOW_TRACKING_URI": url, "MLFLOW_REGISTRY_URI": url], in: directory, timeout: 120).stdout
    }

    /// The text after `RESULT ` on the line a Python check printed it.
    public static func result(_ output: String) -> String? {
        output.split(separator: "\n").last { $0.hasPrefix("RESULT ") }.map { String($0.dropFirst(7)) }
    }
}

/// A test helper could not do its part (a server did not start, a command failed).
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
