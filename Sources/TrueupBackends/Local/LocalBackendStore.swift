import Foundation
import GRDB
import Synchronization
import TrueupCore
import TrueupStore

/// The local backend's registry, catalog, job runs and deployments, as rows in trueup's state
/// database. Other backends keep theirs in their own systems (MLflow, Ray); the engine never reads
/// these tables, only the local backends do, through their role protocols.
///
/// Same SQLite file as the engine's state, written through `StateStore.write`: WAL, one serialized
/// writer, and the controller's leader fence apply to these writes too. The tables are this
/// type's own: `LocalBackendTables` creates and migrates them.
public struct LocalBackendStore: Sendable {
    public let store: StateStore
    /// False only for a read-only state whose database predates the local tables: reads then
    /// answer "nothing recorded" (nothing was ever applied through the local backend).
    let tablesExist: Bool

    /// Opens the local backend's tables in `store`, creating or migrating them first unless the
    /// store is read-only.
    public init(store: StateStore) throws {
        self.store = store
        tablesExist = try LocalBackendTables.prepare(store)
    }

    func read<T>(empty: T, _ body: (Database) throws -> T) throws -> T {
        guard tablesExist else { return empty }
        return try store.read(body)
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try store.write(body)
    }
    // MARK: - Models

    /// Registers a model version unless one with the same idempotency key exists; returns it.
    /// The version number is the next integer, assigned inside the same transaction.
    public func registerModelVersion(model: String, idempotencyKey: String, location: (String) -> String, source: String, tags: [String: String], at time: Double) throws -> ModelVersionInfo {
        try write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM model_versions WHERE model = ? AND idempotency_key = ?", arguments: [model, idempotencyKey]) {
                return try Self.modelVersion(row)
            }
            let next = (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM model_versions WHERE model = ?", arguments: [model]) ?? 0) + 1
            let info = ModelVersionInfo(model: model, version: String(next), location: location(String(next)), source: source, tags: tags)
            try db.execute(sql: """
                INSERT INTO model_versions(model, version, idempotency_key, location, source, tags_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [model, next, idempotencyKey, info.location, source, try StoredJSON.encode(tags), time])
            return info
        }
    }

    static func modelVersion(_ row: Row) throws -> ModelVersionInfo {
        ModelVersionInfo(model: row["model"], version: String(row["version"] as Int), location: row["location"], source: row["source"],
                         tags: try StoredJSON.stringMap(row["tags_json"]))
    }

    public func tagModelVersion(model: String, version: String, tags: [String: String]) throws {
        try write { db in
            guard let json = try String.fetchOne(db, sql: "SELECT tags_json FROM model_versions WHERE model = ? AND version = ?", arguments: [model, Int(version) ?? -1]) else {
                throw BackendError("model \(model) has no version \(version)")
            }
            var merged = try StoredJSON.decode([String: String].self, json)
            merged.merge(tags) { _, new in new }
            try db.execute(sql: "UPDATE model_versions SET tags_json = ? WHERE model = ? AND version = ?", arguments: [try StoredJSON.encode(merged), model, Int(version) ?? -1])
        }
    }

    /// The versions and aliases of these models and prompts: a few queries for the whole set
    /// (names in chunks, under SQLite's limit on bound parameters), not a few per asset.
    public func registryState(models: Set<String>, prompts: Set<String>) throws -> RegistryState {
        try read(empty: RegistryState()) { db in
            // Read through cursors: each row's values are taken as it is read, never copied whole.
            var state = RegistryState()
            for model in models { state.models[model] = RegistryState.Model() }
            for prompt in prompts { state.prompts[prompt] = RegistryState.Prompt() }
            for chunk in Self.chunks(models) {
                let marks = Self.placeholders(chunk.count)
                let versions = try Row.fetchCursor(db, sql: "SELECT * FROM model_versions WHERE model IN (\(marks))", arguments: StatementArguments(chunk))
                while let row = try versions.next() {
                    let info = try Self.modelVersion(row)
                    state.models[row["model"], default: RegistryState.Model()].versions[info.version] = info
                }
                let aliases = try Row.fetchCursor(db, sql: "SELECT name, alias, version FROM aliases WHERE asset_type = 'model' AND name IN (\(marks))", arguments: StatementArguments(chunk))
                while let row = try aliases.next() {
                    state.models[row["name"], default: RegistryState.Model()].aliases[row["alias"]] = row["version"]
                }
            }
            for chunk in Self.chunks(prompts) {
                let marks = Self.placeholders(chunk.count)
                let versions = try Row.fetchCursor(db, sql: "SELECT * FROM prompt_versions WHERE prompt IN (\(marks))", arguments: StatementArguments(chunk))
                while let row = try versions.next() {
                    let info = try Self.promptVersion(row)
                    state.prompts[row["prompt"], default: RegistryState.Prompt()].versions[info.version] = info
                }
                let aliases = try Row.fetchCursor(db, sql: "SELECT name, alias, version FROM aliases WHERE asset_type = 'prompt' AND name IN (\(marks))", arguments: StatementArguments(chunk))
                while let row = try aliases.next() {
                    state.prompts[row["name"], default: RegistryState.Prompt()].aliases[row["alias"]] = row["version"]
                }
            }
            return state
        }
    }

    private static func chunks(_ names: Set<String>) -> [[String]] {
        let sorted = names.sorted()
        return stride(from: 0, to: sorted.count, by: 500).map { Array(sorted[$0..<min($0 + 500, sorted.count)]) }
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    public func setAlias(assetType: String, name: String, alias: String, version: String, at time: Double) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO aliases(asset_type, name, alias, version, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(asset_type, name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at
                """, arguments: [assetType, name, alias, version, time])
        }
    }

    public func deleteAlias(assetType: String, name: String, alias: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM aliases WHERE asset_type = ? AND name = ? AND alias = ?", arguments: [assetType, name, alias])
        }
    }

    // MARK: - Prompts

    public func registerPromptVersion(prompt: String, contentHash: String, template: String, config: JSONValue, tags: [String: String], at time: Double) throws -> PromptVersionInfo {
        try write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM prompt_versions WHERE prompt = ? AND content_hash = ?", arguments: [prompt, contentHash]) {
                return try Self.promptVersion(row)
            }
            let next = (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM prompt_versions WHERE prompt = ?", arguments: [prompt]) ?? 0) + 1
            try db.execute(sql: """
                INSERT INTO prompt_versions(prompt, version, content_hash, template, config_json, tags_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [prompt, next, contentHash, template, config.canonicalJSON, try StoredJSON.encode(tags), time])
            return PromptVersionInfo(prompt: prompt, version: String(next), contentHash: contentHash, template: template, config: config, tags: tags)
        }
    }

    static func promptVersion(_ row: Row) throws -> PromptVersionInfo {
        PromptVersionInfo(
            prompt: row["prompt"], version: String(row["version"] as Int), contentHash: row["content_hash"], template: row["template"],
            config: try JSONValue.parse(Data((row["config_json"] as String).utf8)), tags: try StoredJSON.stringMap(row["tags_json"]))
    }

    public func tagPromptVersion(prompt: String, version: String, tags: [String: String]) throws {
        try write { db in
            guard let json = try String.fetchOne(db, sql: "SELECT tags_json FROM prompt_versions WHERE prompt = ? AND version = ?", arguments: [prompt, Int(version) ?? -1]) else {
                throw BackendError("prompt \(prompt) has no version \(version)")
            }
            var merged = try StoredJSON.decode([String: String].self, json)
            merged.merge(tags) { _, new in new }
            try db.execute(sql: "UPDATE prompt_versions SET tags_json = ? WHERE prompt = ? AND version = ?", arguments: [try StoredJSON.encode(merged), prompt, Int(version) ?? -1])
        }
    }

    // MARK: - Data catalog

    /// Records a version (content hash) and makes it current. A job run that produces content an
    /// earlier run already produced becomes that version's producing run: the planner matches a
    /// `fromJob` dataset by the run of this commit, so keeping the old run would plan it forever.
    public func registerDatasetVersion(environment: String, name: String, version: DatasetVersion, at time: Double) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO dataset_versions(environment, name, version, size, location, producing_run, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(environment, name, version) DO UPDATE SET producing_run = COALESCE(excluded.producing_run, producing_run)
                """, arguments: [environment, name, version.version, version.size, version.location, version.producingRun, time])
            try db.execute(sql: """
                INSERT INTO dataset_current(environment, name, version) VALUES (?, ?, ?)
                ON CONFLICT(environment, name) DO UPDATE SET version = excluded.version
                """, arguments: [environment, name, version.version])
        }
    }

    public func currentDatasets(environment: String) throws -> [String: DatasetVersion] {
        try read(empty: [:]) { db in
            var result: [String: DatasetVersion] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT v.* FROM dataset_current c JOIN dataset_versions v
                ON v.environment = c.environment AND v.name = c.name AND v.version = c.version WHERE c.environment = ?
                """, arguments: [environment]) {
                result[row["name"]] = DatasetVersion(version: row["version"], size: row["size"], location: row["location"], producingRun: row["producing_run"])
            }
            return result
        }
    }

    public func removeCurrentDataset(environment: String, name: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM dataset_current WHERE environment = ? AND name = ?", arguments: [environment, name])
        }
    }

    // MARK: - Job runs

    public func jobRuns(identities: Set<String>) throws -> [String: JobRunRecord] {
        try read(empty: [:]) { db in
            var result: [String: JobRunRecord] = [:]
            for identity in identities {
                if let json = try String.fetchOne(db, sql: "SELECT record_json FROM job_runs WHERE identity = ?", arguments: [identity]) {
                    result[identity] = try JobRunRecord(stored: json)
                }
            }
            return result
        }
    }

    public func jobRun(identity: String) throws -> JobRunRecord? {
        try jobRuns(identities: [identity])[identity]
    }

    /// The runs of `environment` (every environment when nil) last updated at `updatedSince` or
    /// later, oldest first. Every save of a run's record is at its `startedAt` or later, so the
    /// runs that started in a time window are among those updated since the window began:
    /// `history` reads its runs' window, not the whole history, which grows with every commit.
    public func allJobRuns(environment: String?, updatedSince: Double = -.infinity) throws -> [JobRunRecord] {
        environment == nil
            ? try runs("SELECT record_json FROM job_runs WHERE updated_at >= ? ORDER BY updated_at", [updatedSince])
            : try runs("SELECT record_json FROM job_runs WHERE environment = ? AND updated_at >= ? ORDER BY updated_at", [environment, updatedSince])
    }

    /// Every run of one job in `environment`, along the `job_runs_by_job` index.
    public func jobRuns(environment: String, job: String) throws -> [JobRunRecord] {
        try runs("SELECT record_json FROM job_runs WHERE environment = ? AND job = ? ORDER BY updated_at", [environment, job])
    }

    /// The runs whose identity starts with `prefix` (what `trueup logs` is given), in every
    /// environment; only those are decoded. (SQLite's `substr` counts code points.)
    public func jobRuns(identityPrefix prefix: String) throws -> [JobRunRecord] {
        try runs("SELECT record_json FROM job_runs WHERE substr(identity, 1, ?) = ? ORDER BY updated_at", [prefix.unicodeScalars.count, prefix])
    }

    /// The runs a query of `record_json` selects, through a cursor: each decoded straight from
    /// SQLite's bytes rather than made into a String (and copied again) first.
    private func runs(_ sql: String, _ arguments: StatementArguments) throws -> [JobRunRecord] {
        try read(empty: []) { db in
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            var records: [JobRunRecord] = []
            while let row = try rows.next() {
                records.append(try row.withUnsafeData(atIndex: 0) { try JobRunRecord(stored: $0 ?? Data()) })
            }
            return records
        }
    }

    /// The environment's runs, each decoded when planning looks it up (see `JobRunHistory`).
    ///
    /// Neither query reads the whole history:
    /// - at once, the latest run of each job, along the `job_runs_by_job` index: the run planning
    ///   asks for unless the job's inputs changed since;
    /// - at the first identity that is not such a run, the identities the environment has runs
    ///   for, from the `job_runs_by_environment` index alone. An identity not among them (a job
    ///   whose inputs changed, every job of a first plan) then costs no query; one among them (a
    ///   job whose inputs went back to earlier ones) is one query by key.
    public func jobRunHistory(environment: String) throws -> JobRunHistory {
        let latest: [String: Data] = try read(empty: [:]) { db in
            var latest: [String: Data] = [:]
            // The jobs from the index alone, then one descending seek per job: a GROUP BY with
            // max() read every row of the history for its other columns.
            let rows = try Row.fetchCursor(db, sql: """
                SELECT r.identity, r.record_json FROM (SELECT DISTINCT job FROM job_runs WHERE environment = ?1) AS jobs
                JOIN job_runs AS r ON r.rowid = (SELECT rowid FROM job_runs WHERE environment = ?1 AND job = jobs.job ORDER BY updated_at DESC LIMIT 1)
                """, arguments: [environment])
            while let row = try rows.next() { latest[row[0]] = row[1] }
            return latest
        }
        let known = KnownIdentities()
        @Sendable func identities() throws -> Set<String> {
            try read(empty: []) { db in
                Set(try String.fetchAll(db, sql: "SELECT identity FROM job_runs WHERE environment = ?", arguments: [environment]))
            }
        }
        return JobRunHistory(run: { identity in
            if let bytes = latest[identity] { return try JobRunRecord(stored: bytes) }
            // An identity is the table's key, so one of this environment's is this environment's run.
            return try known.contains(identity, reading: identities) ? try jobRun(identity: identity) : nil
        }, sent: {
            // Earlier runs come from the identity index alone: their records are neither read
            // nor decoded. A latest record that cannot be read is sent as an identity too, so
            // that only the job whose run it is finds the error, when its client fetches it.
            var readable: [String: JobRunRecord] = [:]
            for (identity, bytes) in latest { readable[identity] = try? JobRunRecord(stored: bytes) }
            return JobRunHistory.Sent(latest: readable, earlier: try identities().subtracting(readable.keys).sorted())
        })
    }

    /// The latest finished run of each of `jobs` in `environment` (a job never finished is
    /// absent). One indexed query per job: the dashboard asks on every page view, and reading all
    /// of an environment's runs grew with its history.
    public func latestFinishedJobRuns(environment: String, jobs: Set<String>) throws -> [String: JobRunRecord] {
        try read(empty: [:]) { db in
            var latest: [String: JobRunRecord] = [:]
            for job in jobs.sorted() {
                let row = try Row.fetchOne(db, sql: """
                    SELECT record_json FROM job_runs
                    WHERE environment = ? AND job = ? AND json_extract(record_json, '$.finishedAt') IS NOT NULL
                    ORDER BY updated_at DESC LIMIT 1
                    """, arguments: [environment, job])
                if let row {
                    latest[job] = try row.withUnsafeData(atIndex: 0) { try JobRunRecord(stored: $0 ?? Data()) }
                }
            }
            return latest
        }
    }

    public func saveJobRun(_ record: JobRunRecord, at time: Double) throws {
        let json = try StoredJSON.encode(record)
        try write { db in
            try db.execute(sql: """
                INSERT INTO job_runs(identity, environment, job, record_json, status, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(identity) DO UPDATE SET record_json = excluded.record_json, status = excluded.status, updated_at = excluded.updated_at
                """, arguments: [record.identity, record.environment, record.job, json, record.status.rawValue, time])
        }
    }

    // MARK: - Deployments

    public struct StoredDeployment: Sendable {
        public var record: DeploymentRecord
        public var pid: Int32?
        public var pidStartTime: UInt64?
        public var port: Int?
    }

    public func deployments(environment: String) throws -> [String: StoredDeployment] {
        try read(empty: [:]) { db in
            var result: [String: StoredDeployment] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM deployments WHERE environment = ?", arguments: [environment]) {
                let record = try StoredJSON.decode(DeploymentRecord.self, row["record_json"])
                let start: Int64? = row["pid_start_time"]
                result[record.name] = StoredDeployment(record: record, pid: row["pid"], pidStartTime: start.map { UInt64($0) }, port: row["port"])
            }
            return result
        }
    }

    public func saveDeployment(_ record: DeploymentRecord, pid: Int32?, pidStartTime: UInt64?, port: Int?) throws {
        let json = try StoredJSON.encode(record)
        try write { db in
            try db.execute(sql: """
                INSERT INTO deployments(environment, name, record_json, pid, pid_start_time, port) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(environment, name) DO UPDATE SET record_json = excluded.record_json, pid = excluded.pid,
                    pid_start_time = excluded.pid_start_time, port = excluded.port
                """, arguments: [record.environment, record.name, json, pid, pidStartTime.map { Int64($0) }, port])
        }
    }

    public func deleteDeployment(environment: String, name: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM deployments WHERE environment = ? AND name = ?", arguments: [environment, name])
        }
    }
}

/// An environment's recorded identities, read once, by the first lookup that needs them (planning
/// looks up on every core, so the first of them reads and the others wait for it).
private final class KnownIdentities: Sendable {
    private let identities = Mutex<Set<String>?>(nil)

    func contains(_ identity: String, reading: () throws -> Set<String>) throws -> Bool {
        try identities.withLock { known in
            if known == nil { known = try reading() }
            return known!.contains(identity)
        }
    }
}
