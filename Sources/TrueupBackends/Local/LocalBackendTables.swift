import Foundation
import GRDB
import TrueupStore

/// The local backend's own tables in the state database, and their migrations.
///
/// They are versioned apart from the engine's (`local_backend_migrations`, not GRDB's
/// `grdb_migrations`), so TrueupStore knows nothing of them. Each migration runs in one write
/// transaction with its record: a crash leaves either all of it or none. Databases made before the
/// tables moved here already hold them (created by the engine's migration "v1"): "local-v1" is
/// written with `IF NOT EXISTS`, so on those it only records itself.
enum LocalBackendTables {
    static let migrations: [(id: String, sql: String)] = [
        ("local-v1", """
            CREATE TABLE IF NOT EXISTS job_runs (
                identity TEXT PRIMARY KEY,
                environment TEXT NOT NULL, job TEXT NOT NULL,
                record_json TEXT NOT NULL,
                status TEXT NOT NULL,
                updated_at REAL NOT NULL
            );
            CREATE TABLE IF NOT EXISTS model_versions (
                model TEXT NOT NULL, version INTEGER NOT NULL,
                idempotency_key TEXT NOT NULL,
                location TEXT NOT NULL, source TEXT NOT NULL,
                tags_json TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                PRIMARY KEY (model, version),
                UNIQUE (model, idempotency_key)
            );
            CREATE TABLE IF NOT EXISTS prompt_versions (
                prompt TEXT NOT NULL, version INTEGER NOT NULL,
                content_hash TEXT NOT NULL,
                template TEXT NOT NULL, config_json TEXT NOT NULL,
                tags_json TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                PRIMARY KEY (prompt, version),
                UNIQUE (prompt, content_hash)
            );
            CREATE TABLE IF NOT EXISTS aliases (
                asset_type TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL,
                version TEXT NOT NULL, updated_at REAL NOT NULL,
                PRIMARY KEY (asset_type, name, alias)
            );
            CREATE TABLE IF NOT EXISTS dataset_versions (
                environment TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
                size INTEGER NOT NULL, location TEXT NOT NULL, producing_run TEXT,
                registered_at REAL NOT NULL,
                PRIMARY KEY (environment, name, version)
            );
            CREATE TABLE IF NOT EXISTS dataset_current (
                environment TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
                PRIMARY KEY (environment, name)
            );
            CREATE TABLE IF NOT EXISTS deployments (
                environment TEXT NOT NULL, name TEXT NOT NULL,
                record_json TEXT NOT NULL,
                pid INTEGER, pid_start_time INTEGER, port INTEGER,
                PRIMARY KEY (environment, name)
            );
            """),
        // The latest run of a job, asked by the dashboard's gate view on every page view.
        ("local-v2", """
            CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs(environment, job, updated_at);
            """),
        // Which identities an environment has runs for, read from the index alone when planning
        // (LocalBackendStore.jobRunHistory); the runs of a time window, for `history`.
        ("local-v3", """
            CREATE INDEX IF NOT EXISTS job_runs_by_environment ON job_runs(environment, identity);
            CREATE INDEX IF NOT EXISTS job_runs_by_time ON job_runs(environment, updated_at);
            """),
    ]

    /// Creates or migrates the tables; returns whether they exist. A read-only state (`trueup
    /// diff`) is never written: when its database predates them, they do not exist.
    static func prepare(_ store: StateStore) throws -> Bool {
        let applied: Set<String> = try store.read { db in
            guard try db.tableExists("local_backend_migrations") else { return [] }
            return Set(try String.fetchAll(db, sql: "SELECT id FROM local_backend_migrations"))
        }
        if migrations.allSatisfy({ applied.contains($0.id) }) { return true }
        do {
            try store.write { db in
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS local_backend_migrations (id TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
                // Read again inside the transaction: another process may have migrated meanwhile.
                let done = Set(try String.fetchAll(db, sql: "SELECT id FROM local_backend_migrations"))
                for migration in migrations where !done.contains(migration.id) {
                    try db.execute(sql: migration.sql)
                    try db.execute(sql: "INSERT INTO local_backend_migrations(id, applied_at) VALUES (?, ?)", arguments: [migration.id, Date().timeIntervalSince1970])
                }
            }
            return true
        } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY {
            return try store.read { db in try db.tableExists("model_versions") }
        }
    }
}
