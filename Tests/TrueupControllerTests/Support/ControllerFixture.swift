import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A real setup for the controller: a bare repository as the remote ("origin"), a working clone
/// that pushes commits with the git command line, and `trueup controller` processes watching the
/// remote.
///
/// The specs are small so that they apply in a blink: a base holding Dataset `numbers` (a CSV in
/// the repository) and Job `count` (a shell script reading it), extended by `dev` (sync: auto,
/// selfHeal, prune) and `staging` (sync: manual). The job appends `<env> started|finished
/// <TRUEUP_RUN_ID>` to `executions.log`, a file outside the repository and the state directory:
/// tests count executions there, independently of what trueup records.
final class ControllerFixture: @unchecked Sendable {
    let base: String
    let origin: String
    let work: String
    let executionLog: String
    let logs: String
    private var processes: [ControllerProcess] = []

    /// Generous: a loaded two-core machine may be slow. Nothing asserts how long anything took.
    static let timeout: Double = 120

    init(jobSleepSeconds: Int = 0) async throws {
        base = try TemporaryFolder.make("trueup-controller")
        origin = base + "/origin.git"
        work = base + "/work"
        executionLog = base + "/executions.log"
        logs = base + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try await git(["init", "-q", "--bare", "-b", "main", origin], in: base)
        try await git(["clone", "-q", origin, work], in: base)
        try await git(["checkout", "-q", "-B", "main"])
        try write("environments/base/numbers.yaml", """
            apiVersion: trueup/v1
            kind: Dataset
            metadata: {name: numbers}
            spec:
              path: data/numbers.csv
            """)
        try write("environments/base/count.yaml", """
            apiVersion: trueup/v1
            kind: Job
            metadata: {name: count}
            spec:
              code: jobs/count
              command: [sh, count.sh]
              inputs: {datasets: [numbers]}
              env: {EXECUTIONS: "\(executionLog)", SLEEP_SECONDS: "\(jobSleepSeconds)"}
            """)
        try write("environments/dev/environment.yaml", Self.environment("dev", sync: "auto"))
        try write("environments/staging/environment.yaml", Self.environment("staging", sync: "manual"))
        try write("data/numbers.csv", "n\n1\n2\n3\n")
        try write("jobs/count/count.sh", """
            echo "$TRUEUP_ENV started $TRUEUP_RUN_ID" >> "$EXECUTIONS"
            sleep "$SLEEP_SECONDS"
            rows=$(($(wc -l < "$TRUEUP_INPUT_NUMBERS") - 1))
            echo "{\\"rows\\": $rows}" > "$TRUEUP_OUTPUT_DIR/metrics.json"
            echo "$TRUEUP_ENV finished $TRUEUP_RUN_ID" >> "$EXECUTIONS"
            echo "counted $rows rows"

            """)
        try await commitAndPush("first specs", author: "Ada Lovelace")
    }

    deinit {
        for process in processes { process.killHard() }
        // The servers a controller started run in process groups of their own and outlive it, as
        // they do for users; those running in this fixture's folders go with the fixture.
        for pid in Self.processes(workingUnder: base) {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        if ProcessInfo.processInfo.environment["TRUEUP_KEEP_FIXTURES"] == nil {
            try? FileManager.default.removeItem(atPath: base)
        }
    }

    /// Every process whose working directory is `folder` or below it.
    static func processes(workingUnder folder: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), pid != getpid(),
                  let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/cwd"),
                  cwd == folder || cwd.hasPrefix(folder + "/") else { return nil }
            return pid
        }
    }

    static func environment(_ name: String, sync: String, interval: String = "1h") -> String {
        """
        apiVersion: trueup/v1
        kind: Environment
        metadata: {name: \(name)}
        spec:
          extends: [base]
          sync: \(sync)
          selfHeal: true
          prune: true
          interval: \(interval)
        """
    }

    // MARK: - Git

    func write(_ relative: String, _ text: String) throws {
        let path = work + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try (text.hasSuffix("\n") ? text : text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    func remove(_ relative: String) throws {
        try FileManager.default.removeItem(atPath: work + "/" + relative)
    }

    /// Commits everything in the working clone; returns the commit.
    @discardableResult
    func commit(_ message: String, author: String = "Grace Hopper") async throws -> String {
        try await git(["add", "-A"])
        try await git(["-c", "user.name=\(author)", "-c", "user.email=\(author.split(separator: " ").first!.lowercased())@example.org", "commit", "-q", "-m", message])
        return try await git(["rev-parse", "HEAD"])
    }

    @discardableResult
    func commitAndPush(_ message: String, author: String = "Grace Hopper") async throws -> String {
        let sha = try await commit(message, author: author)
        try await git(["push", "-q", "origin", "main"])
        return sha
    }

    @discardableResult
    func git(_ arguments: [String], in directory: String? = nil) async throws -> String {
        let result = try await Command.run(["git", "-c", "core.hooksPath=/dev/null"] + arguments, in: directory ?? work, environment: Self.gitEnvironment(home: base), logs: logs)
        guard result.status == 0 else { throw TestFailure("git \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func gitEnvironment(home: String) -> [String: String] {
        ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "HOME": home,
         "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "LANG": "C.UTF-8"]
    }

    // MARK: - The job's own record

    /// Lines of `executions.log`, e.g. `dev started 3f2a...-1`.
    var executions: [String] {
        ((try? String(contentsOfFile: executionLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func started(_ environment: String) -> [String] {
        executions.filter { $0.hasPrefix("\(environment) started ") }
    }

    // MARK: - Controllers

    /// Starts `trueup controller` on the origin with its own port; `stateDirectory` defaults to one per fixture.
    func startController(stateDirectory: String? = nil, arguments: [String] = [], environment extra: [String: String] = [:]) throws -> ControllerProcess {
        let port = try freePort()
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
        for (key, value) in extra { environment[key] = value }
        let state = stateDirectory ?? base + "/state"
        let process = try ControllerProcess(
            arguments: ["controller", "--repo", origin, "--state-dir", state, "--listen", "127.0.0.1:\(port)"] + arguments,
            port: port, stateDirectory: state, environment: environment, logs: logs, directory: base)
        processes.append(process)
        return process
    }

    var stateDirectory: String { base + "/state" }
}

/// A `trueup controller` child process and its HTTP API.
final class ControllerProcess: @unchecked Sendable {
    let port: Int
    let process = Process()
    let logPath: String
    let stateDirectory: String
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(arguments: [String], port: Int, stateDirectory: String, environment: [String: String], logs: String, directory: String) throws {
        self.port = port
        self.stateDirectory = stateDirectory
        logPath = logs + "/controller-\(port).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: ControllerProcess.binary)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: logPath)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TestFailure("no trueup binary at \(Self.binary): run `swift build`, or set TRUEUP_BINARY")
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func terminate() { if process.isRunning { kill(pid, SIGTERM) } }
    func killHard() { if process.isRunning { kill(pid, SIGKILL) } }

    /// Waits for the process to end; its exit status (128 + n after signal n).
    func waitForExit(timeout: Double = ControllerFixture.timeout) async throws -> Int32 {
        guard try await eventually(timeout: timeout, { !self.process.isRunning }) else {
            killHard()
            throw TestFailure("the controller still ran after \(Int(timeout)) s; its log:\n\(log)")
        }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    // MARK: - HTTP

    struct HTTPResult {
        var status: Int
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    /// The token the controller made in its state directory (no --api-token-env given).
    var madeToken: String? {
        (try? String(contentsOfFile: stateDirectory + "/api-token", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sends the controller's own token unless `authorized` is false or the headers carry one.
    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil, authorized: Bool = true) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: baseURL + path)!, timeoutInterval: 30)
        request.httpMethod = method
        if authorized, headers["Authorization"] == nil, let token = madeToken { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        return HTTPResult(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }

    func get(_ path: String, token: String? = nil) async throws -> HTTPResult {
        try await request("GET", path, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
    }

    /// `GET /api/v1/environments/{name}`, or nil while the controller cannot answer.
    func environment(_ name: String, token: String? = nil) async -> [String: Any]? {
        guard let result = try? await get("/api/v1/environments/\(name)", token: token), result.status == 200 else { return nil }
        return result.json
    }

    /// Polls until the environment's last applied revision is `commit` and it is in sync.
    func waitUntilApplied(_ name: String, _ commit: String, token: String? = nil, timeout: Double = ControllerFixture.timeout) async throws {
        let done = try await eventuallyAsync(timeout: timeout) {
            guard let environment = await self.environment(name, token: token) else { return false }
            let revisions = environment["revisions"] as? [String: Any]
            // Not reconciling any more: the apply's record comes before the reconcile's metrics
            // and report, which a test may read next.
            return revisions?["lastApplied"] as? String == commit && environment["state"] as? String == "Synced"
                && environment["reconciling"] as? Bool == false
        }
        if !done {
            let last = await environment(name, token: token)
            throw TestFailure("\(name) was not applied at \(commit.prefix(12)) within \(Int(timeout)) s; it is \(last.map { "\($0)" } ?? "unknown"); the controller's log:\n\(log)")
        }
    }

    func waitUntilReady(_ expected: Bool = true, timeout: Double = ControllerFixture.timeout) async throws {
        let done = try await eventuallyAsync(timeout: timeout) {
            guard let result = try? await self.get("/readyz") else { return false }
            return (result.status == 200) == expected
        }
        if !done { throw TestFailure("readyz never became \(expected ? "200" : "503"); the controller's log:\n\(log)") }
    }

    /// The binary `swift test` built (this test target depends on it), or `$TRUEUP_BINARY`.
    static let binary: String = {
        if let given = ProcessInfo.processInfo.environment["TRUEUP_BINARY"], !given.isEmpty { return given }
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = folder.appendingPathComponent("trueup").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder.deleteLastPathComponent()
        }
        return packageRoot + "/.build/debug/trueup"
    }()

    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()
}

/// A finished command and what it printed.
struct CommandResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)---" }
}

enum Command {
    /// Runs a command to its end (output through files, so no pipe can fill up); killed after `timeout`.
    static func run(_ command: [String], in directory: String, environment: [String: String], logs: String, timeout: Double = ControllerFixture.timeout) async throws -> CommandResult {
        let id = UUID().uuidString.prefix(8)
        let out = logs + "/\(id).out", err = logs + "/\(id).err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        guard try await eventually(timeout: timeout, { !process.isRunning }) else {
            // Foundation starts the command as the leader of its own process group: stopping the
            // group also stops what it started (Chromium's renderers, a shell's children).
            kill(-process.processIdentifier, SIGKILL)
            throw TestFailure("\(command.joined(separator: " ")) still ran after \(Int(timeout)) s")
        }
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

/// Polls `condition` until it holds; false when `timeout` seconds passed first. For waiting on
/// other processes, never for asserting how long something took.
func eventually(timeout: Double, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() > deadline { return false }
        try await Task.sleep(for: .milliseconds(50))
    }
}

func eventuallyAsync(timeout: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try await condition() { return true }
        if Date() > deadline { return false }
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// A port nothing listens on now: bound to port 0, read back, released.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestFailure("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw TestFailure("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
