import Foundation
import GRDB
import TrueupCore

/// The applied inventory (what drift and prune are computed against), one typed row per resource:
/// summary and spec as canonical JSON text beside their content hashes, so that reading an
/// environment's inventory for a plan parses no JSON tree (`AppliedResource` parses on demand).
enum AppliedRecords {
    static let columns = """
        environment TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
        summary_json TEXT, summary_hash TEXT NOT NULL,
        spec_json TEXT, spec_hash TEXT NOT NULL,
        registry_name TEXT, alias TEXT, code_tree TEXT, inputs_json TEXT,
        applied_commit TEXT NOT NULL, applied_at REAL NOT NULL,
        PRIMARY KEY (environment, kind, name)
        """

    /// "v3-applied-columns": the one `state_json` object of each row becomes typed columns.
    /// Runs inside GRDB's migration transaction: an interrupted migration leaves the old table.
    static func registerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-applied-columns") { db in
            try db.execute(sql: "CREATE TABLE applied_resources_typed (\(columns))")
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM applied_resources")
            while let row = try rows.next() {
                guard let kind = ResourceKind(rawValue: row["kind"]) else { continue }
                let state = try JSONValue.parse(Data((row["state_json"] as String).utf8))
                try insert(AppliedResource(environment: row["environment"], id: ResourceID(kind, row["name"]), state: state,
                                           appliedCommit: row["applied_commit"], appliedAt: row["applied_at"]),
                           into: "applied_resources_typed", db)
            }
            try db.execute(sql: "DROP TABLE applied_resources")
            try db.execute(sql: "ALTER TABLE applied_resources_typed RENAME TO applied_resources")
        }
    }

    static func insert(_ resource: AppliedResource, into table: String = "applied_resources", _ db: Database) throws {
        let inputs = try resource.inputs.map { try StoredJSON.encode($0) }
        try db.execute(sql: """
            INSERT INTO \(table)(environment, kind, name, summary_json, summary_hash, spec_json, spec_hash,
                                 registry_name, alias, code_tree, inputs_json, applied_commit, applied_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(environment, kind, name) DO UPDATE SET
                summary_json = excluded.summary_json, summary_hash = excluded.summary_hash,
                spec_json = excluded.spec_json, spec_hash = excluded.spec_hash,
                registry_name = excluded.registry_name, alias = excluded.alias, code_tree = excluded.code_tree,
                inputs_json = excluded.inputs_json, applied_commit = excluded.applied_commit, applied_at = excluded.applied_at
            """, arguments: [
                resource.environment, resource.id.kind.rawValue, resource.id.name, resource.summaryJSON, resource.summaryHash,
                resource.specJSON, resource.specHash, resource.registryName, resource.alias, resource.codeTree, inputs,
                resource.appliedCommit, resource.appliedAt,
            ])
    }
}

extension StateStore {
    public func appliedResources(environment: String) throws -> [ResourceID: AppliedResource] {
        try read { db in
            var result: [ResourceID: AppliedResource] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM applied_resources WHERE environment = ?", arguments: [environment])
            while let row = try rows.next() {
                guard let kind = ResourceKind(rawValue: row["kind"]) else { continue }
                let id = ResourceID(kind, row["name"])
                var inputs: [String: String]?
                if let text: String = row["inputs_json"] { inputs = try StoredJSON.stringMap(text) }
                result[id] = AppliedResource(
                    environment: environment, id: id, summaryJSON: row["summary_json"], summaryHash: row["summary_hash"],
                    specJSON: row["spec_json"], specHash: row["spec_hash"], registryName: row["registry_name"], alias: row["alias"],
                    codeTree: row["code_tree"], inputs: inputs, appliedCommit: row["applied_commit"], appliedAt: row["applied_at"])
            }
            return result
        }
    }

    public func recordApplied(_ resource: AppliedResource) throws {
        try write { db in try AppliedRecords.insert(resource, db) }
    }

    public func forgetApplied(environment: String, id: ResourceID) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM applied_resources WHERE environment = ? AND kind = ? AND name = ?",
                           arguments: [environment, id.kind.rawValue, id.name])
        }
    }
}
