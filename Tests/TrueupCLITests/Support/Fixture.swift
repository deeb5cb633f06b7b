import Foundation
import GRDB
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The repository's own example (`environments/` and `examples/`) committed to a fresh git
/// repository in a temporary folder, driven through the real `trueup` binary.
///
/// Every job's command is wrapped so that the job itself appends `<job> <TRUEUP_RUN_ID> <pid>` to
/// `executions.log`, a file outside the repository and the state directory: the tests count
/// executions there, independently of what trueup records about them.
final class Fixture {
    struct Options {
        /// Seconds `train.py` sleeps before training: a window to kill an apply while it runs.
        var trainSleepSeconds = 0
        /// Gives prepare-features its own code folder (`examples/churn-prep`), so that editing
        /// `examples/churn/train.py` changes the code of train-churn (and its gate) only.
        var separatePrepareCode = false
    }

    /// Generous: a loaded two-core machine may be slow; no test asserts how long anything took.
    static let commandTimeout: Double = 300

    let base: String
    let repo: String
    let stateDirectory: String
    let executionLog: String
    let logs: String

    init(_ options: Options = Options()) async throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/trueup-cli-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw FixtureError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        base = URL(fileURLWithPath: String(cString: created)).resolvingSymlinksInPath().path
        repo = base + "/repo"
        stateDirectory = repo + "/.trueup"
        executionLog = base + "/executions.log"
        logs = base + "/logs"
        let fm = FileManager.default
        try fm.createDirectory(atPath: repo, withIntermediateDirectories: true)
        for folder in ["environments", "examples"] {
            try fm.copyItem(atPath: Self.packageRoot + "/" + folder, toPath: repo + "/" + folder)
        }
        // Python caches written next to the example by someone running it by hand are not part of it.
        for case let file as String in fm.enumerator(atPath: repo + "/examples")?.allObjects ?? [] where file.hasSuffix("__pycache__") {
            try? fm.removeItem(atPath: repo + "/examples/" + file)
        }
        try ".trueup/\n".write(toFile: repo + "/.gitignore", atomically: true, encoding: .utf8)
        try instrumentJobs()
        if options.trainSleepSeconds > 0 {
            try edit("examples/churn/train.py") {
                $0.replacingOccurrences(of: "    args = parse_args()\n",
                                        with: "    args = parse_args()\n    import time; time.sleep(\(options.trainSleepSeconds))  # test fixture: a window to kill trueup in\n")
            }
        }
        if options.separatePrepareCode {
            try fm.createDirectory(atPath: repo + "/examples/churn-prep", withIntermediateDirectories: true)
            for file in ["prepare.py", "churnlib.py"] {
                try fm.copyItem(atPath: repo + "/examples/churn/" + file, toPath: repo + "/examples/churn-prep/" + file)
            }
            try fm.removeItem(atPath: repo + "/examples/churn/prepare.py")
            try editDocument("environments/base/churn/jobs.yaml", named: "prepare-features") {
                $0.replacingOccurrences(of: "code: examples/churn\n", with: "code: examples/churn-prep\n")
            }
        }
        try await git("init", "-q", "-b", "main", ".")
        try await commit("the example")
    }

    deinit {
        stopEverything()
        if ProcessInfo.processInfo.environment["TRUEUP_KEEP_FIXTURES"] == nil {
            try? FileManager.default.removeItem(atPath: base)
        }
    }

    // MARK: - The example, instrumented

    /// Wraps each job's command: `sh -c 'echo "<job> $TRUEUP_RUN_ID $$" >> LOG && exec python3 ...'`.
    private func instrumentJobs() throws {
        func wrapped(_ job: String, _ script: String, passArguments: Bool = false) -> String {
            "[sh, -c, 'echo \"\(job) $TRUEUP_RUN_ID $$\" >> \(executionLog) && exec python3 \(script)\(passArguments ? " \"$@\"" : "")'"
                + (passArguments ? ", \(job)" : "")
        }
        try edit("environments/base/churn/jobs.yaml") {
            $0.replacingOccurrences(of: "command: [python3, prepare.py]", with: "command: \(wrapped("prepare-features", "prepare.py"))]")
                .replacingOccurrences(of: "command: [python3, train.py,", with: "command: \(wrapped("train-churn", "train.py", passArguments: true)),")
                .replacingOccurrences(of: "command: [python3, evaluate.py]", with: "command: \(wrapped("evaluate-churn", "evaluate.py"))]")
        }
        try edit("environments/base/support/prompt.yaml") {
            $0.replacingOccurrences(of: "command: [python3, eval_prompt.py]", with: "command: \(wrapped("eval-support-prompt", "eval_prompt.py"))]")
        }
        let jobs = try read("environments/base/churn/jobs.yaml") + read("environments/base/support/prompt.yaml")
        guard jobs.components(separatedBy: executionLog).count == 5 else {
            throw FixtureError("the example's job commands changed: update Fixture.instrumentJobs")
        }
    }

    // MARK: - Files and git

    func path(_ relative: String) -> String { repo + "/" + relative }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }

    func write(_ relative: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path(relative) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path(relative), atomically: true, encoding: .utf8)
    }

    /// Rewrites a file of the working tree; throws when the edit changed nothing (a stale fixture).
    func edit(_ relative: String, _ transform: (String) -> String) throws {
        let before = try read(relative)
        let after = transform(before)
        guard after != before else { throw FixtureError("editing \(relative) changed nothing: the example changed, update the test") }
        try write(relative, after)
    }

    /// Edits the one YAML document of a multi-document file whose metadata names `name`.
    func editDocument(_ relative: String, named name: String, _ transform: @escaping (String) -> String) throws {
        try edit(relative) { text in
            text.components(separatedBy: "\n---\n").map { $0.contains("  name: \(name)\n") ? transform($0) : $0 }.joined(separator: "\n---\n")
        }
    }

    func remove(_ relative: String) throws {
        try FileManager.default.removeItem(atPath: path(relative))
    }

    @discardableResult
    func git(_ arguments: String...) async throws -> String {
        try await Self.git(arguments, in: repo, home: base, logs: logs)
    }

    /// git in `repository` with a fixed identity, no hooks and no user or system configuration.
    static func git(_ arguments: [String], in repository: String, home: String, logs: String) async throws -> String {
        let process = try ChildProcess(["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "core.hooksPath=/dev/null"] + arguments,
                                       in: repository, environment: gitEnvironment(home: home), logs: logs)
        let result = try await process.wait(timeout: 120)
        guard result.status == 0 else { throw FixtureError("git failed: \(result)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits everything in the working tree; returns the new commit.
    @discardableResult
    func commit(_ message: String) async throws -> String {
        try await git("add", "-A")
        try await git("commit", "-q", "-m", message)
        return try await git("rev-parse", "HEAD")
    }

    static func gitEnvironment(home: String) -> [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "LANG": "C.UTF-8",
        ]
    }

    // MARK: - trueup

    /// The binary `swift test` built (this test target depends on it), or `$TRUEUP_BINARY`.
    static let binary: String = {
        let fm = FileManager.default
        if let given = ProcessInfo.processInfo.environment["TRUEUP_BINARY"], !given.isEmpty { return given }
        // The test bundle sits in the build folder beside `trueup` (on macOS, a few levels down in it).
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = folder.appendingPathComponent("trueup").path
            if fm.isExecutableFile(atPath: candidate) { return candidate }
            folder.deleteLastPathComponent()
        }
        return packageRoot + "/.build/debug/trueup"
    }()

    /// The package folder, found from this source file (Tests/TrueupCLITests/Support/Fixture.swift).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Variables added to trueup's environment (tokens for notification receivers, say).
    var environmentOverrides: [String: String] = [:]

    var trueupEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.merging(environmentOverrides) { $1 }
        environment["NO_COLOR"] = "1"
        environment["TERM"] = "dumb"
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
        return environment
    }

    /// `trueup ARGS --repo REPO --state-dir REPO/.trueup`, started in the repository.
    func start(_ arguments: [String]) throws -> ChildProcess {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw FixtureError("no trueup binary at \(Self.binary): run `swift build`, or set TRUEUP_BINARY")
        }
        return try ChildProcess([Self.binary] + arguments + ["--repo", repo, "--state-dir", stateDirectory],
                                in: repo, environment: trueupEnvironment, logs: logs)
    }

    /// Runs trueup to its end and returns what it did.
    @discardableResult
    func trueup(_ arguments: String..., timeout: Double = commandTimeout) async throws -> CommandResult {
        try await start(arguments).wait(timeout: timeout)
    }

    /// `apply --env ENV --yes`, which must succeed.
    @discardableResult
    func apply(_ environment: String = "dev", sourceLocation: SourceLocation = #_sourceLocation) async throws -> CommandResult {
        let result = try await trueup("apply", "--env", environment, "--yes")
        #expect(result.status == 0, "apply failed:\n\(result)", sourceLocation: sourceLocation)
        return result
    }

    /// `status --format json` of one environment.
    func status(_ environment: String = "dev") async throws -> Status {
        let result = try await trueup("status", "--env", environment, "--format", "json")
        guard result.status == 0 else { throw FixtureError("status failed: \(result)") }
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let environments = json?["environments"] as? [[String: Any]] ?? []
        guard let entry = environments.first(where: { $0["name"] as? String == environment }) else {
            throw FixtureError("status shows no environment \(environment): \(result)")
        }
        return Status(json: entry)
    }

    /// `history --format json`: runs, newest first.
    func history(_ environment: String = "dev") async throws -> [[String: Any]] {
        let result = try await trueup("history", "--env", environment, "--format", "json")
        guard result.status == 0 else { throw FixtureError("history failed: \(result)") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
    }

    /// `plan --format json`: the changes other than no-ops, as "Kind/name" -> action.
    func pendingChanges(_ environment: String = "dev") async throws -> [String: String] {
        let plan = try await planJSON(environment)
        var result: [String: String] = [:]
        for change in plan["changes"] as? [[String: Any]] ?? [] where change["action"] as? String != "noop" {
            result[change["resource"] as? String ?? "?"] = change["action"] as? String
        }
        return result
    }

    func planJSON(_ environment: String = "dev") async throws -> [String: Any] {
        let result = try await trueup("plan", "--env", environment, "--format", "json")
        guard result.status == 0 || result.status == 2 else { throw FixtureError("plan failed: \(result)") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
    }

    // MARK: - Executions, counted by the jobs themselves

    /// One line per job execution: job name, TRUEUP_RUN_ID, pid.
    var executions: [[String]] {
        let text = (try? String(contentsOfFile: executionLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    }

    /// How many times each job ran, by name.
    var executionCounts: [String: Int] {
        executions.reduce(into: [:]) { counts, line in counts[line.first ?? "?", default: 0] += 1 }
    }

    // MARK: - The state database, read with SQLite directly

    func database() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(60)
        return try DatabaseQueue(path: stateDirectory + "/state.db", configuration: configuration)
    }

    /// The version a registry alias points at, straight from the `aliases` table.
    func alias(_ name: String, type: String = "model", alias: String = "dev") throws -> String? {
        try database().read { db in
            try String.fetchOne(db, sql: "SELECT version FROM aliases WHERE asset_type = ? AND name = ? AND alias = ?", arguments: [type, name, alias])
        }
    }

    /// What someone with access to the registry does by hand: point an alias at another version.
    func moveAliasByHand(_ name: String, type: String = "model", alias: String = "dev", to version: String) throws {
        let changed = try database().write { db in
            try db.execute(sql: "UPDATE aliases SET version = ? WHERE asset_type = ? AND name = ? AND alias = ?", arguments: [version, type, name, alias])
            return db.changesCount
        }
        guard changed == 1 else { throw FixtureError("no alias \(alias) of \(type) \(name) to move") }
    }

    struct DeploymentRow: Equatable {
        var pid: Int32
        var startTime: UInt64
        var port: Int
    }

    /// The `deployments` table of one environment, by name.
    func deployments(_ environment: String = "dev") throws -> [String: DeploymentRow] {
        guard FileManager.default.fileExists(atPath: stateDirectory + "/state.db") else { return [:] }
        return try database().read { db in
            var result: [String: DeploymentRow] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, pid, pid_start_time, port FROM deployments WHERE environment = ?", arguments: [environment]) {
                guard let pid: Int64 = row["pid"], let start: Int64 = row["pid_start_time"] else { continue }
                result[row["name"]] = DeploymentRow(pid: Int32(pid), startTime: UInt64(start), port: row["port"] ?? 0)
            }
            return result
        }
    }

    /// Every row of every table, to prove that nothing was written.
    func databaseDump() throws -> [String] {
        try database().read { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            return try tables.flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"").map { "\(table): \($0)" }.sorted()
            }
        }
    }

    func integrityCheck() throws -> [String] {
        try database().read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    // MARK: - Processes

    /// Pids written by job wrappers in `runs/*/attempt-*/started`.
    func jobPids() -> [Int32] {
        let runs = stateDirectory + "/runs"
        let files = (FileManager.default.enumerator(atPath: runs)?.allObjects as? [String] ?? []).filter { $0.hasSuffix("/started") }
        return files.compactMap { file in
            (try? String(contentsOfFile: runs + "/" + file, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// Server processes running in one deployment's folders (any version of it), counted from /proc.
    func serverProcesses(_ name: String, environment: String = "dev") -> [Int32] {
        Processes.running(under: "\(stateDirectory)/deployments/\(environment)/\(name)")
    }

    /// Stops every process this fixture's trueup started: the deployments recorded in the state
    /// database and in instance files, then anything still running in the fixture's folders.
    func stopEverything() {
        var targets: [(Int32, UInt64?)] = []
        for environment in ["dev", "staging", "prod"] {
            for row in (try? deployments(environment))?.values.map({ $0 }) ?? [] { targets.append((row.pid, row.startTime)) }
        }
        let deploymentsFolder = stateDirectory + "/deployments"
        for case let file as String in FileManager.default.enumerator(atPath: deploymentsFolder)?.allObjects ?? [] where file.hasSuffix("instance.json") {
            if let data = FileManager.default.contents(atPath: deploymentsFolder + "/" + file),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let pid = (object["pid"] as? NSNumber)?.int32Value {
                targets.append((pid, (object["startTime"] as? NSNumber)?.uint64Value))
            }
        }
        for (pid, start) in targets { Processes.stop(pid, startTime: start) }
        for pid in Processes.running(under: base) { Processes.stop(pid) }
    }

    // MARK: - Talking to the servers

    /// POSTs a JSON body with Python's urllib (a real HTTP client, no trueup code) and decodes the reply.
    func post(_ url: String, _ body: String) async throws -> [String: Any] {
        let script = """
            import sys, urllib.request
            request = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as response:
                sys.stdout.write(response.read().decode())
            """
        let result = try await ChildProcess(["python3", "-c", script, url, body], in: base, environment: ProcessInfo.processInfo.environment, logs: logs).wait(timeout: 120)
        guard result.status == 0 else { throw FixtureError("POST \(url) failed: \(result)") }
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw FixtureError("POST \(url) did not answer a JSON object: \(result.stdout)")
        }
        return object
    }

    static let churnRequest = #"{"tenure_months": 3, "monthly_charges": 95.5, "support_calls": 4, "contract": "month"}"#
    static let supportRequest = #"{"question": "How do I reset my password?"}"#

    /// Both servers answer a real request at the endpoints `status` shows.
    func expectServersAnswer(_ status: Status, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let churn = try #require(status.endpoint("Deployment/churn-api"), "no churn-api endpoint in status", sourceLocation: sourceLocation)
        let prediction = try await post(churn + "/predict", Self.churnRequest)
        let probability = (prediction["churn_probability"] as? NSNumber)?.doubleValue ?? -1
        #expect((0...1).contains(probability), "churn-api answered \(prediction)", sourceLocation: sourceLocation)
        #expect(prediction["churn"] is Bool, "churn-api answered \(prediction)", sourceLocation: sourceLocation)

        let support = try #require(status.endpoint("Deployment/support-api"), "no support-api endpoint in status", sourceLocation: sourceLocation)
        let answer = try await post(support + "/answer", Self.supportRequest)
        #expect(answer["faq_id"] as? String == "reset-password", "support-api answered \(answer)", sourceLocation: sourceLocation)
        #expect(!((answer["answer"] as? String) ?? "").isEmpty, "support-api answered \(answer)", sourceLocation: sourceLocation)
    }
}

/// One environment of `trueup status --format json`.
struct Status {
    var json: [String: Any]

    var resources: [[String: Any]] { json["resources"] as? [[String: Any]] ?? [] }

    func resource(_ id: String) -> [String: Any]? {
        resources.first { $0["resource"] as? String == id }
    }

    func state(_ id: String, _ key: String) -> String? {
        (resource(id)?["state"] as? [String: Any])?[key] as? String
    }

    func endpoint(_ id: String) -> String? { resource(id)?["endpoint"] as? String }
    func pid(_ id: String) -> Int32? { (resource(id)?["pid"] as? NSNumber)?.int32Value }
    var lastAppliedCommit: String? { json["lastAppliedCommit"] as? String }

    var ready: (status: Bool, reason: String, message: String)? {
        guard let condition = (json["conditions"] as? [[String: Any]])?.first(where: { $0["type"] as? String == "Ready" }) else { return nil }
        return ((condition["status"] as? Bool) ?? false, condition["reason"] as? String ?? "", condition["message"] as? String ?? "")
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
