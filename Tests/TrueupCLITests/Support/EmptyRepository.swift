import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh `git init` with nothing committed, as a new user starts: for `trueup init` and what
/// follows it. Runs the real binary with its default state directory (`.trueup/` in the repository).
final class EmptyRepository {
    let base: String
    let repo: String
    let logs: String

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/trueup-first-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw FixtureError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        base = URL(fileURLWithPath: String(cString: created)).resolvingSymlinksInPath().path
        repo = base + "/repo"
        logs = base + "/logs"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    }

    deinit {
        // Servers the example might start are its own concern; it has none.
        if ProcessInfo.processInfo.environment["TRUEUP_KEEP_FIXTURES"] == nil {
            try? FileManager.default.removeItem(atPath: base)
        }
    }

    @discardableResult
    func git(_ arguments: String...) async throws -> String {
        try await Fixture.git(arguments, in: repo, home: base, logs: logs)
    }

    /// `trueup ARGS` run in the repository, as a person types it (no --repo, no --state-dir).
    func trueup(_ arguments: String..., in directory: String? = nil) async throws -> CommandResult {
        try await run(arguments, in: directory)
    }

    func run(_ arguments: [String], in directory: String? = nil) async throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["TERM"] = "dumb"
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
        return try await ChildProcess([Fixture.binary] + arguments, in: directory ?? repo, environment: environment, logs: logs).wait()
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: repo + "/" + relative, encoding: .utf8)
    }
}
