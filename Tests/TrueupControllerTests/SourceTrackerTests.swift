import Foundation
import Testing
import TrueupCore
import TrueupEngine
import TrueupGit
@testable import TrueupController

/// What makes an environment's fingerprint move, and what a broken or removed environment does to
/// the desired state the controller keeps, over a real git repository.
@Suite("Source tracker: fingerprints and the last good desired state")
struct SourceTrackerTests {
    final class Repository {
        let path: String
        let logs: String
        init() throws {
            path = try TemporaryFolder.make("trueup-tracker")
            logs = path + "/.logs"
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        func write(_ relative: String, _ text: String) throws {
            let file = path + "/" + relative
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }

        func git(_ arguments: String...) async throws {
            let result = try await Command.run(["git", "-c", "user.name=t", "-c", "user.email=t@e"] + arguments, in: path,
                                               environment: ControllerFixture.gitEnvironment(home: path), logs: logs)
            guard result.status == 0 else { throw TestFailure("git \(arguments) failed: \(result)") }
        }

        /// Commits everything and loads the new revision into `tracker`.
        func commit(_ message: String, into tracker: inout SourceTracker) async throws -> SourceUpdate {
            try await git("add", "-A", "--", ".", ":!.logs")
            try await git("commit", "-q", "--allow-empty", "-m", message)
            let snapshot = try GitRepository(path: path).snapshot(at: "HEAD")
            return try tracker.update(desired: try SpecLoader().load(snapshot), snapshot: snapshot)
        }
    }

    static func environment(_ name: String, extends: String? = nil) -> String {
        "apiVersion: trueup/v1\nkind: Environment\nmetadata: {name: \(name)}\nspec:\n  sync: auto\n" + (extends.map { "  extends: [\($0)]\n" } ?? "")
    }

    static func job(_ name: String, code: String) -> String {
        "apiVersion: trueup/v1\nkind: Job\nmetadata: {name: \(name)}\nspec:\n  code: \(code)\n  command: [sh, run.sh]\n"
    }

    @Test func fingerprintsMoveOnlyWithWhatTheEnvironmentReads() async throws {
        let repo = try Repository()
        try await repo.git("init", "-q", "-b", "main", ".")
        try repo.write("environments/base/count.yaml", Self.job("count", code: "jobs/count"))
        try repo.write("environments/dev/environment.yaml", Self.environment("dev", extends: "base"))
        try repo.write("environments/prod/environment.yaml", Self.environment("prod"))
        try repo.write("environments/prod/other.yaml", Self.job("other", code: "jobs/other"))
        try repo.write("jobs/count/run.sh", "echo count\n")
        try repo.write("jobs/other/run.sh", "echo other\n")
        var tracker = SourceTracker(specRoot: "environments")
        let first = try await repo.commit("first", into: &tracker)
        #expect(first.environments.keys.sorted() == ["dev", "prod"])
        let dev = try #require(first.environments["dev"]?.fingerprint)
        let prod = try #require(first.environments["prod"]?.fingerprint)

        try repo.write("README.md", "hello\n")
        var update = try await repo.commit("a file nobody reads", into: &tracker)
        #expect(update.environments["dev"]?.fingerprint == dev && update.environments["prod"]?.fingerprint == prod)

        try repo.write("jobs/count/run.sh", "echo count twice\n")
        update = try await repo.commit("code of dev's job", into: &tracker)
        #expect(update.environments["dev"]?.fingerprint != dev, "the code a job points at")
        #expect(update.environments["prod"]?.fingerprint == prod)
        let dev2 = update.environments["dev"]!.fingerprint

        try repo.write("environments/base/count.yaml", Self.job("count", code: "jobs/count") + "  env: {A: \"1\"}\n")
        update = try await repo.commit("the base dev extends", into: &tracker)
        #expect(update.environments["dev"]?.fingerprint != dev2, "a folder it extends")
        #expect(update.environments["prod"]?.fingerprint == prod)
        let dev3 = update.environments["dev"]!.fingerprint
        let lastGood = update.head

        // Broken for prod only: prod stays at its last good revision, with the reason.
        try repo.write("environments/prod/other.yaml", Self.job("other", code: "jobs/other") + "  retires: 2\n")
        update = try await repo.commit("typo in prod", into: &tracker)
        let kept = try #require(update.environments["prod"])
        #expect(kept.fingerprint == prod && kept.revision == lastGood, "kept at its last good revision")
        #expect(kept.problem?.contains("retires") == true, "\(kept.problem ?? "")")
        #expect(update.environments["dev"]?.problem == nil && update.environments["dev"]?.fingerprint == dev3)

        // A prod that was never valid has nothing to keep.
        try repo.write("environments/qa/environment.yaml", Self.environment("qa") + "  prune: no\n")
        update = try await repo.commit("a broken new environment", into: &tracker)
        #expect(update.environments["qa"] == nil && update.neverValid["qa"]?.contains("boolean") == true)

        // Removed from git: no longer reconciled (and nothing of it deleted).
        try FileManager.default.removeItem(atPath: repo.path + "/environments/prod")
        try FileManager.default.removeItem(atPath: repo.path + "/environments/qa")
        update = try await repo.commit("prod is gone", into: &tracker)
        #expect(update.removed == ["prod"] && update.environments.keys.sorted() == ["dev"])

        // No environment at all is a broken spec root, not a decision to manage nothing.
        try FileManager.default.removeItem(atPath: repo.path + "/environments")
        update = try await repo.commit("oops", into: &tracker)
        #expect(update.removed.isEmpty && update.environments["dev"]?.problem != nil && update.environments["dev"]?.fingerprint == dev3)
    }

    @Test func aResolvedCommitVariableTiesTheFingerprintToTheCommit() async throws {
        let repo = try Repository()
        try await repo.git("init", "-q", "-b", "main", ".")
        try repo.write("environments/dev/environment.yaml", Self.environment("dev"))
        try repo.write("environments/dev/job.yaml", Self.job("stamp", code: "jobs/stamp") + "  env: {COMMIT: \"${git.shortCommit}\"}\n")
        try repo.write("jobs/stamp/run.sh", "echo $COMMIT\n")
        var tracker = SourceTracker(specRoot: "environments")
        let first = try await repo.commit("first", into: &tracker)
        try repo.write("README.md", "hello\n")
        let second = try await repo.commit("second", into: &tracker)
        #expect(first.environments["dev"]?.fingerprint != second.environments["dev"]?.fingerprint)
    }

    @Test func credentialsNeverShowInTheRepositoryURL() {
        #expect(RepositoryMirror.redacted("https://user:s3cret@git.example.org/acme/envs.git") == "https://git.example.org/acme/envs.git")
        #expect(RepositoryMirror.redacted("https://git.example.org/acme/envs.git") == "https://git.example.org/acme/envs.git")
        #expect(RepositoryMirror.redacted("/srv/git/envs.git") == "/srv/git/envs.git")
    }
}
