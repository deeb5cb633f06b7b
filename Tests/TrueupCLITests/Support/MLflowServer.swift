import Foundation
import Glibc

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
        let output = try await spawnAndWait([Fixture.packageRoot + "/scripts/mlflow-server", "start", "--watch", String(getpid())], timeout: 180)
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("url=") }) else {
            throw FixtureError("scripts/mlflow-server start printed no url: \(output)")
        }
        return String(line.dropFirst("url=".count))
    }

    /// Runs a command with posix_spawn and reaps it by pid; what it printed (both streams). Not
    /// Foundation's Process: it never saw this script end (its background server and watcher
    /// outlive it), so the wait ran into its timeout.
    static func spawnAndWait(_ arguments: [String], timeout: Double) async throws -> String {
        let log = FileManager.default.temporaryDirectory.path + "/trueup-mlflow-start-\(UUID().uuidString.prefix(8)).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let shell = ["/bin/sh", "-c", "exec \"$0\" \"$@\" >\"$TRUEUP_SPAWN_LOG\" 2>&1 </dev/null"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TRUEUP_SPAWN_LOG"] = log
        var argv = shell.map { strdup($0) } + [nil]
        var envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, &envp)
        guard spawned == 0 else { throw FixtureError("posix_spawn of \(arguments[0]) failed: \(String(cString: strerror(spawned)))") }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) { break }
            if Date() > deadline {
                kill(pid, SIGKILL)
                throw FixtureError("\(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // WIFEXITED && WEXITSTATUS == 0, spelled out: Glibc's macros are not imported.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw FixtureError("\(arguments.joined(separator: " ")) failed (wait status \(status)): \(output)")
        }
        return output
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
