import Foundation
import Testing

/// The state folder's cache of parsed spec files, as a user meets it: made by plan, used by
/// validate only where a state folder exists, and never a reason for a command to fail.
struct ParsedSpecCacheCLITests {
    private static let datasets = 24

    private func repositoryWithManyFiles() async throws -> EmptyRepository {
        let repository = try EmptyRepository()
        try await repository.git("init", "-q", "-b", "main", ".")
        let environments = repository.repo + "/environments/dev"
        try FileManager.default.createDirectory(atPath: environments, withIntermediateDirectories: true)
        try "apiVersion: trueup/v1\nkind: Environment\nmetadata:\n  name: dev\nspec: {}\n"
            .write(toFile: environments + "/environment.yaml", atomically: true, encoding: .utf8)
        for index in 0..<Self.datasets {
            try """
                apiVersion: trueup/v1
                kind: Dataset
                metadata:
                  name: data-\(index)
                spec:
                  uri: s3://bucket/data-\(index).csv
                  sha256: \(String(repeating: "cd", count: 32))

                """.write(toFile: environments + "/data-\(index).yaml", atomically: true, encoding: .utf8)
        }
        try await repository.git("add", "-A")
        try await repository.git("commit", "-q", "-m", "datasets")
        return repository
    }

    @Test("validate makes no state folder; plan fills the cache; a damaged cache changes nothing the user sees")
    func theCacheIsUsedWhereAStateFolderIsAndNeverFailsACommand() async throws {
        let repository = try await repositoryWithManyFiles()
        let state = repository.repo + "/.trueup"
        let cache = state + "/cache/parsed-specs.db"

        let first = try await repository.trueup("validate")
        #expect(first.status == 0, "\(first)")
        #expect(!FileManager.default.fileExists(atPath: state), "validate in a fresh clone writes nothing")

        let plan = try await repository.trueup("plan", "--env", "dev")
        #expect(plan.status == 2, "\(plan)")
        #expect(plan.stdout.contains("\(Self.datasets) to create"), "\(plan)")
        #expect(FileManager.default.fileExists(atPath: cache), "plan keeps the files it parsed")

        // Now that the state folder exists, validate reads through the cache and says the same.
        let second = try await repository.trueup("validate")
        #expect(second.status == 0 && second.stderr == first.stderr, "\(second)")
        let again = try await repository.trueup("plan", "--env", "dev")
        #expect(again.status == 2 && again.stdout == plan.stdout, "\(again)")

        // A cache that is not a database: the commands parse everything and say the same.
        try Data(repeating: 0x5a, count: 65_536).write(to: URL(fileURLWithPath: cache))
        let damaged = try await repository.trueup("plan", "--env", "dev")
        #expect(damaged.status == 2 && damaged.stdout == plan.stdout, "\(damaged)")
        #expect(!damaged.stderr.contains("cache"), "\(damaged)")
        let validated = try await repository.trueup("validate")
        #expect(validated.status == 0 && validated.stderr == first.stderr, "\(validated)")

        // An invalid file is reported from the cache's runs as from any other.
        try "apiVersion: trueup/v1\nkind: Dataset\nmetadata:\n  name: data-3\nspec:\n  uri: s3://bucket/data-3.csv\n"
            .write(toFile: repository.repo + "/environments/dev/data-3.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: state + "/cache")
        try await repository.git("commit", "-qam", "data-3 loses its sha256")
        for _ in 0..<2 {
            let invalid = try await repository.trueup("validate")
            #expect(invalid.status == 1, "\(invalid)")
            #expect(invalid.stdout.contains("environments/dev/data-3.yaml:6:8"), "\(invalid)")
        }
    }
}
