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
}
