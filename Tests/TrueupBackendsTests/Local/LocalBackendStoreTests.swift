import Foundation
import GRDB
import Testing
import TrueupBackends
import TrueupCore
import TrueupStore

/// The local backend's tables in the state database: its own migrations, records read back as
/// saved, one version number per registration from concurrent writers.
@Suite struct LocalBackendStoreTests {
    @Test func aJobRunReadsBackAsSaved() async throws {
        try await LocalState.with { state in
            let record = JobRunRecord(
                identity: "id-1", environment: "dev", job: "train", status: .succeeded, exitCode: 0, outputLocation: "/out",
                metrics: ["auc": 0.9], logPath: "/log", commit: "c", codeTree: "t", inputs: ["features": "d92f"], startedAt: 1, finishedAt: 2,
                outputs: ["model": ArtifactReference(digest: "sha256:" + String(repeating: "0", count: 64), uri: "file:///a/sha256/0")])
            try state.openStore().saveJobRun(record, at: 5)
            #expect(try state.openStore().jobRun(identity: "id-1") == record)
            #expect(try state.openStore().allJobRuns(environment: "dev") == [record])
        }
    }

    @Test func theLatestFinishedRunOfEachJobIsFound() async throws {
        try await LocalState.with { state in
            let local = try state.openStore()
            func run(_ identity: String, _ job: String, _ status: JobRunRecord.Status, environment: String = "dev", finished: Bool = true) -> JobRunRecord {
                JobRunRecord(identity: identity, environment: environment, job: job, status: status, outputLocation: "/out", logPath: "/log",
                             commit: "c", codeTree: "t", startedAt: 1, finishedAt: finished ? 2 : nil)
            }
            try local.saveJobRun(run("a1", "evaluate", .succeeded), at: 1)
            try local.saveJobRun(run("a2", "evaluate", .failed), at: 2)
            try local.saveJobRun(run("a3", "evaluate", .running, finished: false), at: 3)
            try local.saveJobRun(run("a4", "evaluate", .succeeded, environment: "staging"), at: 4)
            try local.saveJobRun(run("b1", "check", .running, finished: false), at: 5)
            try local.saveJobRun(run("c1", "train", .succeeded), at: 6)
            let latest = try local.latestFinishedJobRuns(environment: "dev", jobs: ["evaluate", "check"])
            // The failed run is the latest finished one of evaluate in dev; check never finished;
            // train was not asked for; staging's run is another environment's.
            #expect(latest.mapValues(\.identity) == ["evaluate": "a2"])
        }
    }

    @Test func itsTablesAreMigratedOnceAndRecorded() async throws {
        try await LocalState.with { state in
            let local = try state.openStore()
            _ = try state.openStore()
            let migrations = try local.store.read { db in try String.fetchAll(db, sql: "SELECT id FROM local_backend_migrations") }
            #expect(migrations == ["local-v1", "local-v2", "local-v3"])
            let engine = try local.store.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
            #expect(!engine.contains("local-v1"), "the engine's migrations know nothing of them")
        }
    }

    /// A state database made before the tables moved here (they came from the engine's "v1").
    @Test func aDatabaseThatAlreadyHasTheTablesKeepsItsRows() async throws {
        try await LocalState.with { state in
            let store = try StateStore(stateDirectory: state.folder.path)
            try store.write { db in
                try db.execute(sql: "CREATE TABLE aliases (asset_type TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL, version TEXT NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (asset_type, name, alias))")
                try db.execute(sql: "INSERT INTO aliases VALUES ('model', 'churn', 'dev', '3', 1)")
            }
            let local = try LocalBackendStore(store: store)
            #expect(try local.registryState(models: ["churn"], prompts: []).models["churn"]?.aliases["dev"] == "3")
        }
    }

    /// Two processes registering versions of one model at once: each registration gets its own number.
    @Test func concurrentRegistrationsGetDistinctVersions() async throws {
        try await LocalState.with { state in
            let stores = [try state.openStore(), try state.openStore()]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (writer, store) in zip(["a", "b"], stores) {
                    group.addTask {
                        for index in 0..<20 {
                            _ = try store.registerModelVersion(model: "shared", idempotencyKey: "\(writer)-\(index)", location: { "/models/shared/\($0)" },
                                                               source: writer, tags: [:], at: Double(index))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let versions = try #require(try state.openStore().registryState(models: ["shared"], prompts: []).models["shared"]).versions
            #expect(Set(versions.keys.compactMap { Int($0) }) == Set(1...40))
        }
    }
}
