import Foundation
import GRDB
import TrueupCore

/// A status condition, as Kubernetes-style controllers report them (`Ready`, `Drifted`, `Stalled`).
public struct Condition: Codable, Sendable, Hashable {
    public var type: String
    public var status: Bool
    public var reason: String
    public var message: String
    public var since: Double

    public init(type: String, status: Bool, reason: String, message: String, since: Double) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.since = since
    }
}

public struct EnvironmentStatus: Codable, Sendable, Hashable {
    public var name: String
    public var lastAppliedCommit: String?
    public var lastAppliedAt: Double?
    public var lastAttemptedCommit: String?
    public var lastAttemptedAt: Double?
    public var conditions: [Condition]
    public var pendingPlanJSON: String?
}

/// What trueup last applied for one resource: the inventory drift and prune are computed against.
public struct AppliedResource: Codable, Sendable, Hashable {
    public var environment: String
    public var id: ResourceID
    /// The after-state the planner produced and the apply achieved.
    public var state: JSONValue
    public var appliedCommit: String
    public var appliedAt: Double

    public init(environment: String, id: ResourceID, state: JSONValue, appliedCommit: String, appliedAt: Double) {
        self.environment = environment
        self.id = id
        self.state = state
        self.appliedCommit = appliedCommit
        self.appliedAt = appliedAt
    }
}

extension StateStore {
    public func environmentStatus(_ name: String) throws -> EnvironmentStatus? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM environment_status WHERE name = ?", arguments: [name]) else { return nil }
            return try Self.status(row)
        }
    }

    public func allEnvironmentStatuses() throws -> [EnvironmentStatus] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM environment_status ORDER BY name").map(Self.status) }
    }

    static func status(_ row: Row) throws -> EnvironmentStatus {
        EnvironmentStatus(
            name: row["name"], lastAppliedCommit: row["last_applied_commit"], lastAppliedAt: row["last_applied_at"],
            lastAttemptedCommit: row["last_attempted_commit"], lastAttemptedAt: row["last_attempted_at"],
            conditions: try StoredJSON.decode([Condition].self, row["conditions_json"]), pendingPlanJSON: row["pending_plan_json"])
    }

    public func recordAttempt(environment: String, commit: String, at time: Double) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO environment_status(name, last_attempted_commit, last_attempted_at) VALUES (?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET last_attempted_commit = excluded.last_attempted_commit, last_attempted_at = excluded.last_attempted_at
                """, arguments: [environment, commit, time])
        }
    }

    public func recordApplied(environment: String, commit: String, at time: Double, conditions: [Condition]) throws {
        let json = try StoredJSON.encode(conditions)
        try write { db in
            try db.execute(sql: """
                INSERT INTO environment_status(name, last_applied_commit, last_applied_at, conditions_json) VALUES (?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET last_applied_commit = excluded.last_applied_commit,
                    last_applied_at = excluded.last_applied_at, conditions_json = excluded.conditions_json
                """, arguments: [environment, commit, time, json])
        }
    }

    public func setConditions(environment: String, _ conditions: [Condition]) throws {
        let json = try StoredJSON.encode(conditions)
        try write { db in
            try db.execute(sql: """
                INSERT INTO environment_status(name, conditions_json) VALUES (?, ?)
                ON CONFLICT(name) DO UPDATE SET conditions_json = excluded.conditions_json
                """, arguments: [environment, json])
        }
    }

    public func setPendingPlan(environment: String, json: String?) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO environment_status(name, pending_plan_json) VALUES (?, ?)
                ON CONFLICT(name) DO UPDATE SET pending_plan_json = excluded.pending_plan_json
                """, arguments: [environment, json])
        }
    }

    // MARK: - Applied inventory

    public func appliedResources(environment: String) throws -> [ResourceID: AppliedResource] {
        try read { db in
            var result: [ResourceID: AppliedResource] = [:]
            // Every plan reads every resource's state back: through a cursor, with the JSON parsed
            // straight from SQLite's bytes rather than made into a String first.
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM applied_resources WHERE environment = ?", arguments: [environment])
            while let row = try rows.next() {
                guard let kind = ResourceKind(rawValue: row["kind"]) else { continue }
                let id = ResourceID(kind, row["name"])
                let state = try row.withUnsafeData(named: "state_json") { try JSONValue.parse($0 ?? Data()) }
                result[id] = AppliedResource(
                    environment: environment, id: id, state: state, appliedCommit: row["applied_commit"], appliedAt: row["applied_at"])
            }
            return result
        }
    }

    public func recordApplied(_ resource: AppliedResource) throws {
        let json = try StoredJSON.encode(resource.state)
        try write { db in
            try db.execute(sql: """
                INSERT INTO applied_resources(environment, kind, name, state_json, applied_commit, applied_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(environment, kind, name) DO UPDATE SET state_json = excluded.state_json,
                    applied_commit = excluded.applied_commit, applied_at = excluded.applied_at
                """, arguments: [resource.environment, resource.id.kind.rawValue, resource.id.name, json, resource.appliedCommit, resource.appliedAt])
        }
    }

    public func forgetApplied(environment: String, id: ResourceID) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM applied_resources WHERE environment = ? AND kind = ? AND name = ?",
                           arguments: [environment, id.kind.rawValue, id.name])
        }
    }
}
