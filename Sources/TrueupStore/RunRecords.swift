import Foundation
import GRDB
import TrueupCore

/// One reconcile: trigger, commit, author, the plan, and the outcome of each action.
public struct ReconcileRun: Codable, Sendable, Hashable {
    public var id: Int64
    public var environment: String
    public var trigger: String
    public var commit: String
    public var author: String
    public var message: String
    public var startedAt: Double
    public var finishedAt: Double?
    public var outcome: String
    public var planJSON: String
    public var logDirectory: String
}

public struct ActionRecord: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable {
        /// Written before the side effect: if the process dies now, the next run knows it was attempted.
        case intent, succeeded, failed, skipped
    }

    public var id: Int64
    public var runID: Int64
    public var resource: String
    public var action: String
    public var idempotencyKey: String
    public var status: Status
    public var startedAt: Double?
    public var finishedAt: Double?
    public var attempts: Int
    public var error: String?
    public var logPath: String?
    public var resultJSON: String?
}

extension StateStore {
    /// Starts a run; `notifications(runID)` are the events announcing it, recorded in the same transaction.
    public func startRun(environment: String, trigger: String, revision: RevisionInfo, planJSON: String, logDirectory: String, at time: Double,
                         notifications: (Int64) -> [OutboxEntry] = { _ in [] }) throws -> Int64 {
        try write { db in
            try db.execute(sql: """
                INSERT INTO reconcile_runs(environment, trigger, commit_sha, author, message, started_at, plan_json, log_dir)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [environment, trigger, revision.commit, revision.author, revision.message, time, planJSON, logDirectory])
            let id = db.lastInsertedRowID
            try Self.enqueue(notifications(id), at: time, db)
            return id
        }
    }

    /// Closes a run with its outcome and records the events reporting it in the same transaction:
    /// the outcome is never known without its notifications being owed.
    public func finishRun(_ id: Int64, outcome: String, at time: Double, notifications: [OutboxEntry] = []) throws {
        try write { db in
            try db.execute(sql: "UPDATE reconcile_runs SET outcome = ?, finished_at = ? WHERE id = ?", arguments: [outcome, time, id])
            try Self.enqueue(notifications, at: time, db)
        }
    }

    /// Runs left `running` by a process that died: closed as `interrupted` so history stays true.
    public func closeInterruptedRuns(environment: String, at time: Double) throws {
        try write { db in
            try db.execute(sql: "UPDATE actions SET status = 'failed', error = 'interrupted: the process applying it stopped', finished_at = ? WHERE status = 'intent' AND run_id IN (SELECT id FROM reconcile_runs WHERE environment = ? AND outcome = 'running')", arguments: [time, environment])
            try db.execute(sql: "UPDATE reconcile_runs SET outcome = 'interrupted', finished_at = ? WHERE environment = ? AND outcome = 'running'", arguments: [time, environment])
        }
    }

    public func runs(environment: String?, limit: Int = 50) throws -> [ReconcileRun] {
        try read { db in
            let rows: [Row]
            if let environment {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM reconcile_runs WHERE environment = ? ORDER BY id DESC LIMIT ?", arguments: [environment, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM reconcile_runs ORDER BY id DESC LIMIT ?", arguments: [limit])
            }
            return rows.map(Self.run)
        }
    }

    public func run(_ id: Int64) throws -> ReconcileRun? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM reconcile_runs WHERE id = ?", arguments: [id]).map(Self.run) }
    }

    static func run(_ row: Row) -> ReconcileRun {
        ReconcileRun(
            id: row["id"], environment: row["environment"], trigger: row["trigger"], commit: row["commit_sha"],
            author: row["author"], message: row["message"], startedAt: row["started_at"], finishedAt: row["finished_at"],
            outcome: row["outcome"], planJSON: row["plan_json"], logDirectory: row["log_dir"])
    }

    /// Records the intent to act, before anything touches a backend.
    public func recordIntent(runID: Int64, resource: String, action: String, idempotencyKey: String, at time: Double) throws -> Int64 {
        try write { db in
            try db.execute(sql: """
                INSERT INTO actions(run_id, resource, action, idempotency_key, status, started_at, attempts) VALUES (?, ?, ?, ?, 'intent', ?, 1)
                """, arguments: [runID, resource, action, idempotencyKey, time])
            return db.lastInsertedRowID
        }
    }

    public func recordOutcome(actionID: Int64, status: ActionRecord.Status, error: String?, logPath: String?, resultJSON: String?, attempts: Int, at time: Double) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE actions SET status = ?, error = ?, log_path = ?, result_json = ?, attempts = ?, finished_at = ? WHERE id = ?
                """, arguments: [status.rawValue, error, logPath, resultJSON, attempts, time, actionID])
        }
    }

    public func recordSkipped(runID: Int64, resource: String, action: String, reason: String, at time: Double) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO actions(run_id, resource, action, idempotency_key, status, started_at, finished_at, error) VALUES (?, ?, ?, '', 'skipped', ?, ?, ?)
                """, arguments: [runID, resource, action, time, time, reason])
        }
    }

    public func actions(runID: Int64) throws -> [ActionRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM actions WHERE run_id = ? ORDER BY id", arguments: [runID]).map { row in
                ActionRecord(
                    id: row["id"], runID: row["run_id"], resource: row["resource"], action: row["action"],
                    idempotencyKey: row["idempotency_key"], status: ActionRecord.Status(rawValue: row["status"]) ?? .failed,
                    startedAt: row["started_at"], finishedAt: row["finished_at"], attempts: row["attempts"],
                    error: row["error"], logPath: row["log_path"], resultJSON: row["result_json"])
            }
        }
    }
}
