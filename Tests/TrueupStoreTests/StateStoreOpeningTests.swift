import Foundation
import GRDB
import Testing
import TrueupCore
import TrueupStore

/// Opening the state database: schema, pragmas, re-opening, soundness.
@Suite struct StateStoreOpeningTests {
    static let tables: Set<String> = [
        // The local backend's tables are its own (TrueupBackends/Local/LocalBackendTables.swift).
        "environment_status", "applied_resources", "reconcile_runs", "actions", "leases", "webhook_deliveries", "grdb_migrations",
    ]

    @Test func migrationsCreateTheSchemaOnAFreshFile() async throws {
        try await StateDirectory.with { directory in
            let store = try StateStore(stateDirectory: directory)
            #expect(store.path == (directory as NSString).appendingPathComponent("state.db"))
            #expect(FileManager.default.fileExists(atPath: store.path))
            #expect(try Self.tableNames(store).isSuperset(of: Self.tables))
            let applied = try store.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
            #expect(applied.first == "v1", "migrations applied: \(applied)")
        }
    }

    @Test func aStateDirectoryThatDoesNotExistYetIsCreated() async throws {
        try await StateDirectory.with { directory in
            let nested = (directory as NSString).appendingPathComponent("repo/.trueup")
            let store = try StateStore(stateDirectory: nested)
            #expect(FileManager.default.fileExists(atPath: store.path))
        }
    }

    @Test func reopeningKeepsTheDataAndMigratesNothingTwice() async throws {
        try await StateDirectory.with { directory in
            let schema: [String]
            let migrations: [String]
            do {
                let store = try StateStore(stateDirectory: directory)
                try store.recordAttempt(environment: "dev", commit: "abc", at: 1)
                schema = try Self.schema(store)
                migrations = try Self.migrations(store)
            }
            for _ in 0..<3 {
                let again = try StateStore(stateDirectory: directory)
                #expect(try again.environmentStatus("dev")?.lastAttemptedCommit == "abc")
                #expect(try Self.schema(again) == schema)
                #expect(try Self.migrations(again) == migrations)
            }
        }
    }

    @Test func walAndFullSynchronousAreInEffect() async throws {
        try await StateDirectory.with { directory in
            // The first store creates the file; the second opens an existing one. Both must hold.
            for store in [try StateStore(stateDirectory: directory), try StateStore(stateDirectory: directory)] {
                let journal = try store.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
                #expect(journal?.lowercased() == "wal")
                // 2 is FULL (0 OFF, 1 NORMAL, 3 EXTRA).
                #expect(try store.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
                #expect(try store.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") } == 1)
                // Another process waits for the lock rather than failing at once.
                #expect(try store.read { db in try Int.fetchOne(db, sql: "PRAGMA busy_timeout") } ?? 0 > 0)
                // The mode must hold for writes too, not only for the connection used to read.
                let writing = try store.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
                #expect(writing == 2)
            }
            // WAL is recorded in the file itself: a plain connection sees it too.
            let plain = try DatabaseQueue(path: (directory as NSString).appendingPathComponent("state.db"))
            #expect(try plain.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }?.lowercased() == "wal")
        }
    }

    @Test func integrityCheckIsOKAfterWrites() async throws {
        try await StateDirectory.with { directory in
            let store = try StateStore(stateDirectory: directory)
            #expect(try store.integrityCheck() == "ok")
            let run = try store.startRun(environment: "dev", trigger: "manual", revision: Sample.revision(), planJSON: Sample.plan, logDirectory: "/tmp/logs", at: 1)
            for index in 0..<50 {
                let action = try store.recordIntent(runID: run, resource: "Job/j\(index)", action: "run", idempotencyKey: "k\(index)", at: Double(index))
                try store.recordOutcome(actionID: action, status: .succeeded, error: nil, logPath: nil, resultJSON: "{}", attempts: 1, at: Double(index))
            }
            #expect(try store.integrityCheck() == "ok")
            #expect(try StateStore(stateDirectory: directory).integrityCheck() == "ok")
        }
    }

    @Test func aStateDirectoryThatCannotBeWrittenIsAClearError() async throws {
        try await StateDirectory.with { directory in
            // A file where the folder should be: the error names the path and what to check.
            let blocked = (directory as NSString).appendingPathComponent("blocked")
            try Data("not a folder".utf8).write(to: URL(fileURLWithPath: blocked))
            #expect(throws: (any Error).self) { try StateStore(stateDirectory: blocked) }
        }
    }

    static func tableNames(_ store: StateStore) throws -> Set<String> {
        Set(try store.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") })
    }

    static func migrations(_ store: StateStore) throws -> [String] {
        try store.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") }
    }

    static func schema(_ store: StateStore) throws -> [String] {
        try store.read { db in try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name") }
    }
}
