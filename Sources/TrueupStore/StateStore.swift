// TrueupStore owns trueup's SQLite state: migrations, environment status, reconcile runs and
// their actions, the applied inventory, leases. It knows nothing of git, YAML, backends (the local
// backend keeps its tables in the same file, TrueupBackends/Local/LocalBackendStore.swift) or how
// actions are carried out.
import Foundation
import GRDB
import Synchronization
import TrueupCore

/// The state database: WAL, `synchronous=FULL`, versioned migrations, one writer.
///
/// Every write goes through `write`, a single serialized connection, so records are never
/// interleaved; other processes wait on SQLite's busy timeout rather than failing.
public final class StateStore: Sendable {
    public let path: String
    let queue: DatabaseQueue
    let fence = Mutex<Fence?>(nil)

    public struct OpenError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Opens (creating if needed) `stateDirectory/state.db` and migrates it.
    public init(stateDirectory: String) throws {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        path = (stateDirectory as NSString).appendingPathComponent("state.db")
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        do {
            // Creating the file, switching it to WAL and migrating it are not atomic in SQLite:
            // two processes opening a fresh state at once both see no tables ("table ... already
            // exists") or collide on the journal mode ("database is locked"). An exclusive flock
            // beside the database serialises the opening; it is released when this block ends or
            // the process dies, and is never held during normal reads and writes.
            let opening = try OpeningLock(path: path + ".open-lock")
            defer { opening.release() }
            queue = try DatabaseQueue(path: path, configuration: configuration)
            // WAL lets readers (status, the dashboard) proceed while an apply writes.
            _ = try queue.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
            try Self.migrator.migrate(queue)
        } catch {
            throw OpenError(description: "cannot open the state database \(path): \(error): check that the folder is writable and the disk not full")
        }
    }

    /// Opens the state for reading only, writing nothing (`trueup diff` must leave it byte-identical).
    /// With no database yet, an empty in-memory one stands in: nothing has been applied.
    public init(readOnlyStateDirectory stateDirectory: String) throws {
        path = (stateDirectory as NSString).appendingPathComponent("state.db")
        do {
            if FileManager.default.fileExists(atPath: path) {
                var configuration = Configuration()
                configuration.readonly = true
                configuration.busyMode = .timeout(30)
                queue = try DatabaseQueue(path: path, configuration: configuration)
            } else {
                queue = try DatabaseQueue()
                try Self.migrator.migrate(queue)
            }
        } catch {
            throw OpenError(description: "cannot read the state database \(path): \(error): check the --state-dir")
        }
    }

    public func read<T>(_ body: (Database) throws -> T) throws -> T { try queue.read(body) }
    /// Every write transaction goes through here. When a fence is set (a controller holding the
    /// leader lease), the transaction first checks, inside itself, that the lease is still ours:
    /// a paused old leader whose lease was taken over cannot write.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        let fence = self.fence.withLock { $0 }
        return try queue.write { db in
            if let fence { try Self.checkFence(fence, db) }
            return try body(db)
        }
    }

    /// The lease this process must hold for its writes to be accepted; nil: no fencing (the CLI).
    public func setFence(_ fence: Fence?) {
        self.fence.withLock { $0 = fence }
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE environment_status (
                    name TEXT PRIMARY KEY,
                    last_applied_commit TEXT, last_applied_at REAL,
                    last_attempted_commit TEXT, last_attempted_at REAL,
                    conditions_json TEXT NOT NULL DEFAULT '[]',
                    pending_plan_json TEXT
                );
                -- What trueup applied and created: the inventory for drift and prune.
                CREATE TABLE applied_resources (
                    environment TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
                    state_json TEXT NOT NULL,
                    applied_commit TEXT NOT NULL, applied_at REAL NOT NULL,
                    PRIMARY KEY (environment, kind, name)
                );
                CREATE TABLE reconcile_runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    environment TEXT NOT NULL, trigger TEXT NOT NULL,
                    commit_sha TEXT NOT NULL, author TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',
                    started_at REAL NOT NULL, finished_at REAL,
                    outcome TEXT NOT NULL DEFAULT 'running',
                    plan_json TEXT NOT NULL, log_dir TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX reconcile_runs_by_environment ON reconcile_runs(environment, id);
                -- One row per planned action: intent written before the side effect, outcome after.
                CREATE TABLE actions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id INTEGER NOT NULL REFERENCES reconcile_runs(id),
                    resource TEXT NOT NULL, action TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    status TEXT NOT NULL,
                    started_at REAL, finished_at REAL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    error TEXT, log_path TEXT, result_json TEXT
                );
                CREATE INDEX actions_by_run ON actions(run_id);
                -- The local backend's tables (job_runs, model_versions, prompt_versions, aliases,
                -- dataset_versions, dataset_current, deployments) were created here up to 0.x; they
                -- are the local backend's now: TrueupBackends/Local/LocalBackendTables.swift.
                """)
        }
        migrator.registerMigration("v2-leases") { db in
            try db.execute(sql: """
                -- The controller's leader lease: one row per lease name; token grows on every takeover.
                CREATE TABLE leases (
                    name TEXT PRIMARY KEY,
                    holder TEXT NOT NULL,
                    token INTEGER NOT NULL,
                    expires_at REAL NOT NULL
                );
                -- Webhook deliveries already seen: a redelivery is a no-op.
                CREATE TABLE webhook_deliveries (
                    delivery_id TEXT PRIMARY KEY,
                    received_at REAL NOT NULL
                );
                """)
        }
        AppliedRecords.registerMigrations(&migrator)
        registerOutboxMigration(&migrator)
        return migrator
    }
}

/// An exclusive `flock` on a file beside the database, held while the database is opened and
/// migrated. flock is released by the kernel when the descriptor closes, so a process killed
/// mid-migration never leaves the state locked.
private struct OpeningLock {
    let descriptor: Int32

    init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StateStore.OpenError(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        while flock(fd, LOCK_EX) != 0 {
            let code = errno
            guard code == EINTR else {
                close(fd)
                throw StateStore.OpenError(description: "flock on \(path) failed: \(String(cString: strerror(code)))")
            }
        }
        descriptor = fd
    }

    func release() {
        close(descriptor)
    }
}

/// JSON helpers for the `*_json` columns (also the local backend's, TrueupBackends/Local).
public enum StoredJSON {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    public static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static let decoder = JSONDecoder()

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try decode(type, from: Data(text.utf8))
    }

    /// A column read straight from SQLite's bytes. A record that does not decode names the field
    /// (StoredRecordError) instead of showing Foundation's coding path.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, record: String? = nil) throws -> T {
        do {
            return try decoder.decode(type, from: data)
        } catch let error as DecodingError {
            throw StoredRecordError(record: record ?? "\(T.self)", error)
        }
    }
}
