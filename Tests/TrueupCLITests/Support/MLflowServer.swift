import Foundation

/// One real MLflow server for this test process, started by `scripts/mlflow-server` on first use
/// and stopped by the script's watcher when the test process ends. Without MLflow in the
/// project's .venv the tests fail (never skip) and say how to install it.
actor MLflowServer {
    static let shared = MLflowServer()

    private var started: Task<String, any Error>?

    static var python: String { Fixture.packageRoot + "/.venv/bin/python" }

    /// The server's URL (`http://127.0.0.1:PORT`).
    func url() async throws -> String {
        if let started { return try await started.value }
        let task = Task { try await Self.launch() }
        started = task
        return try await task.value
    }

    private static func launch() async throws -> String {
        guard FileManager.default.isExecutableFile(atPath: Fixture.packageRoot + "/.venv/bin/mlflow") else {
            throw FixtureError("MLflow is not installed in \(Fixture.packageRoot)/.venv: run scripts/setup-deps --test (it installs mlflow 3.17.2), then run the tests again")
        }
        let logs = FileManager.default.temporaryDirectory.path + "/trueup-mlflow-start-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: logs) }
        let result = try await ChildProcess([Fixture.packageRoot + "/scripts/mlflow-server", "start", "--watch", String(getpid())],
                                            in: Fixture.packageRoot, environment: ProcessInfo.processInfo.environment, logs: logs).wait(timeout: 180)
        guard result.status == 0, let line = result.stdout.split(separator: "\n").first(where: { $0.hasPrefix("url=") }) else {
            throw FixtureError("scripts/mlflow-server start failed: \(result)")
        }
        return String(line.dropFirst("url=".count))
    }

    /// Runs Python with MLflow's own client pointed at `url`; its standard output.
    static func python(_ code: String, url: String, in directory: String) async throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["MLFLOW_TRACKING_URI"] = url
        let result = try await ChildProcess([python, "-c", code], in: directory, environment: environment, logs: directory + "/python-logs").wait(timeout: 120)
        guard result.status == 0 else { throw FixtureError("python failed: \(result)") }
        return result.stdout
    }
}
