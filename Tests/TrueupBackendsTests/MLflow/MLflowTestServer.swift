import Foundation
import Glibc
import Testing
import TrueupBackends

/// One real MLflow server for the whole test process, started by `scripts/mlflow-server` on first
/// use (about 10 s) and stopped by that script's watcher when the test process ends, whichever
/// way it ends. The tests never skip: without MLflow in the project's .venv they fail and say how
/// to install it.
actor MLflowTestServer {
    static let shared = MLflowTestServer()

    struct Running: Sendable {
        var url: String
        var port: Int
        var directory: String
        var python: String
    }

    private var running: Task<Running, any Error>?

    /// The repository's root, from this file's place in it.
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var python: String { "\(repository)/.venv/bin/python" }

    func start() async throws -> Running {
        if let running { return try await running.value }
        let task = Task { try await Self.launch() }
        running = task
        return try await task.value
    }

    private static func launch() async throws -> Running {
        guard FileManager.default.isExecutableFile(atPath: "\(repository)/.venv/bin/mlflow") else {
            throw ServerError("MLflow is not installed in \(repository)/.venv: run scripts/setup-deps --test (it installs mlflow 3.17.2), then run the tests again")
        }
        let output = try await run(["\(repository)/scripts/mlflow-server", "start", "--watch", String(getpid())])
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let url = values["url"], let dir = values["dir"], let port = url.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw ServerError("scripts/mlflow-server start printed no url: \(output)")
        }
        return Running(url: url, port: port, directory: dir, python: python)
    }

    /// Runs a command to its end and returns what it printed (standard output and error), or an
    /// error with that output. Spawned and reaped by pid here: Foundation's Process is not used,
    /// since its reaping never reported the end of a child in this test process.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 180) async throws -> String {
        let log = NSTemporaryDirectory() + "trueup-mlflow-cmd-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let pid = try ProcessSpawner.spawn(SpawnRequest(
            executable: arguments[0], arguments: arguments, workingDirectory: repository,
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new }, logPath: log))
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) { break }
            if Date() > deadline {
                kill(-pid, SIGKILL)
                throw ServerError("\(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // WIFEXITED && WEXITSTATUS == 0, spelled out: Glibc's macros are not imported.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw ServerError("\(arguments.joined(separator: " ")) failed (wait status \(status)): \(output)")
        }
        return output
    }

    /// The text after `RESULT ` on the line a Python check printed it (MLflow's warnings share the output).
    static func result(_ output: String) -> String? {
        output.split(separator: "\n").last { $0.hasPrefix("RESULT ") }.map { String($0.dropFirst(7)) }
    }

    /// Runs Python code with the venv's interpreter (MLflow's own client) against `url`.
    static func python(_ code: String, url: String) async throws -> String {
        try await run([python, "-c", code], environment: ["MLFLOW_TRACKING_URI": url, "MLFLOW_REGISTRY_URI": url])
    }
}

struct ServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
