import Foundation

/// A real git repository in a fresh temporary folder holding a copy of this repository's
/// `environments/` and `examples/`, committed and branched as `base`, with `trueup apply` run on it
/// (dev by default), so that `trueup diff --base base --head HEAD` has a real state to compare with.
///
/// Git's global and system configuration are ignored, and authors and dates are fixed. The servers
/// the apply started are stopped by `close()` (and at the latest when the fixture is released):
/// only the pids recorded in the `deployments` table, and only while they still name those
/// processes.
final class DiffFixture {
    /// The temporary folder; removed on close.
    let scratch: String
    /// The repository's working tree.
    let repo: String
    var stateDirectory: String { repo + "/.trueup" }
    private var closed = false

    init(apply environments: [String] = ["dev"]) async throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/trueup-diff-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        scratch = URL(fileURLWithPath: String(cString: created)).resolvingSymlinksInPath().path
        repo = scratch + "/repo"
        let fm = FileManager.default
        try fm.createDirectory(atPath: repo, withIntermediateDirectories: true)
        for folder in ["environments", "examples"] {
            try fm.copyItem(at: SourceTree.root.appendingPathComponent(folder), to: URL(fileURLWithPath: repo + "/" + folder))
        }
        try write(".gitignore", ".trueup/\n__pycache__/\n*.pyc\n")
        try await git("init", "-q", "-b", "main", ".")
        try await git("add", "-A")
        try await git("commit", "-q", "-m", "environments as in the trueup repository")
        try await git("branch", "base")
        for environment in environments {
            let applied = try await trueup(["apply", "--env", environment, "--yes"])
            guard applied.status == 0 else {
                close()
                throw TestFailure("trueup apply --env \(environment) exited \(applied.status):\n\(applied.all)")
            }
        }
    }

    deinit { close() }

    /// Stops the servers the applies started and removes the folder.
    func close() {
        guard !closed else { return }
        closed = true
        for (pid, start) in (try? recordedServers()) ?? [] { stopProcess(pid: pid, startTime: start) }
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// (pid, start time) of every server recorded in the state's `deployments` table, read with
    /// Python's sqlite3 in read-only mode.
    func recordedServers() throws -> [(Int32, UInt64)] {
        let database = stateDirectory + "/state.db"
        guard FileManager.default.fileExists(atPath: database) else { return [] }
        let script = """
            import sqlite3, sys
            db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
            for pid, start in db.execute("SELECT pid, pid_start_time FROM deployments WHERE pid IS NOT NULL AND pid_start_time IS NOT NULL"):
                print(pid, start)
            """
        let result = try runProcessBlocking(["python3", "-c", script, database], in: scratch, environment: baseEnvironment, scratch: scratch)
        guard result.status == 0 else { throw TestFailure("cannot read the deployments table: \(result.stderr)") }
        return result.stdout.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let pid = Int32(parts[0]), let start = UInt64(parts[1]) else { return nil }
            return (pid, start)
        }
    }

    /// (pid, start time) of the server of one deployment of dev.
    func serverRecord(_ name: String, environment: String = "dev") async throws -> (Int32, UInt64)? {
        let script = """
            import sqlite3, sys
            db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
            for pid, start in db.execute("SELECT pid, pid_start_time FROM deployments WHERE environment = ? AND name = ?", (sys.argv[2], sys.argv[3])):
                print(pid, start)
            """
        let result = try await runProcess(["python3", "-c", script, stateDirectory + "/state.db", environment, name], in: scratch, environment: baseEnvironment, scratch: scratch)
        let parts = result.stdout.split(whereSeparator: \.isWhitespace)
        guard result.status == 0, parts.count == 2, let pid = Int32(parts[0]), let start = UInt64(parts[1]) else { return nil }
        return (pid, start)
    }

    var baseEnvironment: [String: String] {
        var environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": scratch,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        ]
        // `make sanitize`: the trueup processes are sanitized too, with the same suppressions.
        for key in ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"] {
            environment[key] = ProcessInfo.processInfo.environment[key]
        }
        return environment
    }

    // MARK: - git

    @discardableResult
    func git(_ arguments: String...) async throws -> String {
        var environment = baseEnvironment
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
        for role in ["AUTHOR", "COMMITTER"] {
            environment["GIT_\(role)_NAME"] = "trueup tests"
            environment["GIT_\(role)_EMAIL"] = "tests@trueup.invalid"
            environment["GIT_\(role)_DATE"] = "2026-01-01T00:00:00Z"
        }
        let result = try await runProcess(["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false"] + arguments,
                                    in: repo, environment: environment, scratch: scratch)
        guard result.status == 0 else { throw TestFailure("git \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits every change of the working tree; returns the commit id.
    @discardableResult
    func commit(_ message: String) async throws -> String {
        try await git("add", "-A")
        try await git("commit", "-q", "-m", message)
        return try await git("rev-parse", "HEAD")
    }

    // MARK: - files

    func write(_ relativePath: String, _ contents: String) throws {
        let file = repo + "/" + relativePath
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: file))
    }

    func read(_ relativePath: String) throws -> String {
        try String(contentsOfFile: repo + "/" + relativePath, encoding: .utf8)
    }

    /// Replaces `old` (which must occur) by `new` in a file.
    func edit(_ relativePath: String, replacing old: String, with new: String) throws {
        let text = try read(relativePath)
        guard text.contains(old) else { throw TestFailure("\(relativePath) does not contain \(old.debugDescription): has the example changed?") }
        try write(relativePath, text.replacingOccurrences(of: old, with: new))
    }

    func remove(_ relativePath: String) throws {
        try FileManager.default.removeItem(atPath: repo + "/" + relativePath)
    }

    // MARK: - trueup

    func trueup(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> ProcessResult {
        try await runProcess([TrueupBinary.path] + arguments, in: repo, environment: baseEnvironment.merging(extra) { _, new in new }, scratch: scratch)
    }

    /// `trueup diff --base base --head HEAD --format F [--env E]`.
    func diff(_ format: String, env: String? = nil, base: String = "base", head: String = "HEAD",
              environment: [String: String] = [:]) async throws -> ProcessResult {
        try await trueup(Self.diffArguments(format, env: env, base: base, head: head), environment: environment)
    }

    /// The arguments of `diff(...)`, for a test that runs several at once (the fixture stays on
    /// the test's task).
    static func diffArguments(_ format: String, env: String? = nil, base: String = "base", head: String = "HEAD") -> [String] {
        ["diff", "--base", base, "--head", head, "--format", format] + (env.map { ["--env", $0] } ?? [])
    }

    /// The JSON report, decoded loosely (so that the tests see exactly what was printed).
    func jsonReport(env: String? = nil, environment: [String: String] = [:]) async throws -> (ProcessResult, [String: Any]) {
        let result = try await diff("json", env: env, environment: environment)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] else {
            throw TestFailure("trueup diff --format json did not print an object (exit \(result.status)):\n\(result.all)")
        }
        return (result, object)
    }
}

/// Accessors for the loosely decoded JSON report.
extension Dictionary where Key == String, Value == Any {
    func environment(_ name: String) -> [String: Any]? {
        (self["environments"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }
    var desiredChanges: [[String: Any]] { self["desiredChanges"] as? [[String: Any]] ?? [] }
    var planChanges: [[String: Any]] { (self["plan"] as? [String: Any])?["changes"] as? [[String: Any]] ?? [] }
    func planned(_ resource: String) -> [String: Any]? { planChanges.first { $0["resource"] as? String == resource } }
    func desired(_ resource: String) -> [String: Any]? { desiredChanges.first { $0["resource"] as? String == resource } }
}
