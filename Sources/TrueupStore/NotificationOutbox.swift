import Foundation
import GRDB

/// One notification to deliver: one event for one receiver. Its delivery id is fixed when it is
/// recorded, so every retry (by this process or the next one, after a crash) carries the same id.
/// Nothing secret is stored: the receiver is kept as its settings, which name environment
/// variables only.
public struct OutboxEntry: Sendable, Hashable {
    public var deliveryID: String
    public var environment: String
    public var receiver: String
    public var receiverType: String
    /// The receiver's settings (JSON, no secrets), as they were when the event was recorded.
    public var receiverJSON: String
    public var event: String
    /// The event (JSON, no secrets): the webhook body, and what the other receivers are made from.
    public var payloadJSON: String
    public var runID: Int64?

    public init(deliveryID: String = UUID().uuidString.lowercased(), environment: String, receiver: String, receiverType: String,
                receiverJSON: String, event: String, payloadJSON: String, runID: Int64? = nil) {
        self.deliveryID = deliveryID
        self.environment = environment
        self.receiver = receiver
        self.receiverType = receiverType
        self.receiverJSON = receiverJSON
        self.event = event
        self.payloadJSON = payloadJSON
        self.runID = runID
    }
}

/// A recorded notification and how its delivery is going.
public struct OutboxRow: Sendable, Hashable {
    public enum Status: String, Sendable { case pending, delivered, failed }

    public var id: Int64
    public var entry: OutboxEntry
    public var status: Status
    public var createdAt: Double
    public var nextAttemptAt: Double
    public var attempts: Int
    public var lastError: String?
    /// What a multi-request receiver (github) has already done for this event, so a retry does
    /// not do it twice: for example the id of the deployment it created.
    public var progressJSON: String?
}

/// Per receiver: what is waiting and what was given up on.
public struct NotificationBacklog: Sendable, Hashable {
    public var environment: String
    public var receiver: String
    public var pending: Int
    public var failed: Int
    public var lastError: String?
}

extension StateStore {
    static func registerOutboxMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-notification-outbox") { db in
            try db.execute(sql: """
                -- Notifications to deliver at least once: written in the transaction of the run
                -- outcome or observation they report, deleted never (delivered rows are history).
                CREATE TABLE notification_outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    delivery_id TEXT NOT NULL UNIQUE,
                    environment TEXT NOT NULL, receiver TEXT NOT NULL, receiver_type TEXT NOT NULL,
                    receiver_json TEXT NOT NULL,
                    event TEXT NOT NULL, payload_json TEXT NOT NULL, run_id INTEGER,
                    created_at REAL NOT NULL, next_attempt_at REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    status TEXT NOT NULL DEFAULT 'pending',
                    last_error TEXT, progress_json TEXT, finished_at REAL
                );
                CREATE INDEX notification_outbox_due ON notification_outbox(status, next_attempt_at);
                -- What was last reported per environment and topic (drift's fingerprint, the commit
                -- whose pending changes were sent): the same news is not sent twice.
                CREATE TABLE notification_marks (
                    environment TEXT NOT NULL, topic TEXT NOT NULL, value TEXT NOT NULL,
                    PRIMARY KEY (environment, topic)
                );
                """)
        }
    }

    /// Inserts `entries` inside an open write transaction (the caller's: the run outcome's).
    static func enqueue(_ entries: [OutboxEntry], at time: Double, _ db: Database) throws {
        for e in entries {
            try db.execute(sql: """
                INSERT INTO notification_outbox(delivery_id, environment, receiver, receiver_type, receiver_json, event, payload_json, run_id, created_at, next_attempt_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [e.deliveryID, e.environment, e.receiver, e.receiverType, e.receiverJSON, e.event, e.payloadJSON, e.runID, time, time])
        }
    }

    /// Records notifications on their own (a `trueup notify test`).
    public func recordNotifications(_ entries: [OutboxEntry], at time: Double) throws {
        guard !entries.isEmpty else { return }
        try write { db in try Self.enqueue(entries, at: time, db) }
    }

    /// What `topic` of `environment` last reported; nil when nothing is remembered.
    public func notificationMark(environment: String, topic: String) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT value FROM notification_marks WHERE environment = ? AND topic = ?", arguments: [environment, topic])
        }
    }

    /// Records `entries` only when `topic` of `environment` last reported something other than
    /// `value`, and remembers `value`, in one transaction: news is sent once, and a crash between
    /// the two cannot lose or repeat it. Returns whether anything was recorded. A nil `value`
    /// forgets the topic (drift gone: the next drift is news again).
    @discardableResult
    public func recordNotifications(_ entries: [OutboxEntry], environment: String, topic: String, value: String?, at time: Double) throws -> Bool {
        try write { db in
            let last = try String.fetchOne(db, sql: "SELECT value FROM notification_marks WHERE environment = ? AND topic = ?", arguments: [environment, topic])
            guard let value else {
                try db.execute(sql: "DELETE FROM notification_marks WHERE environment = ? AND topic = ?", arguments: [environment, topic])
                return false
            }
            guard last != value else { return false }
            try db.execute(sql: "INSERT OR REPLACE INTO notification_marks(environment, topic, value) VALUES (?, ?, ?)", arguments: [environment, topic, value])
            try Self.enqueue(entries, at: time, db)
            return true
        }
    }

    /// Pending notifications whose next attempt is due, oldest first.
    public func dueNotifications(at time: Double, limit: Int = 100) throws -> [OutboxRow] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM notification_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                             arguments: [time, limit]).map(Self.outboxRow)
        }
    }

    /// Pending notifications, due or not, oldest first.
    public func pendingNotifications(limit: Int = 1000) throws -> [OutboxRow] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM notification_outbox WHERE status = 'pending' ORDER BY id LIMIT ?", arguments: [limit]).map(Self.outboxRow)
        }
    }

    public func notifications(environment: String? = nil, limit: Int = 200) throws -> [OutboxRow] {
        try read { db in
            let rows: [Row]
            if let environment {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM notification_outbox WHERE environment = ? ORDER BY id DESC LIMIT ?", arguments: [environment, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM notification_outbox ORDER BY id DESC LIMIT ?", arguments: [limit])
            }
            return rows.map(Self.outboxRow)
        }
    }

    public func markDelivered(_ id: Int64, attempts: Int, at time: Double) throws {
        try write { db in
            try db.execute(sql: "UPDATE notification_outbox SET status = 'delivered', attempts = ?, finished_at = ?, last_error = NULL WHERE id = ?", arguments: [attempts, time, id])
        }
    }

    public func scheduleRetry(_ id: Int64, attempts: Int, next: Double, error: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE notification_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?", arguments: [attempts, next, error, id])
        }
    }

    public func markFailed(_ id: Int64, attempts: Int, error: String, at time: Double) throws {
        try write { db in
            try db.execute(sql: "UPDATE notification_outbox SET status = 'failed', attempts = ?, last_error = ?, finished_at = ? WHERE id = ?", arguments: [attempts, error, time, id])
        }
    }

    public func saveNotificationProgress(_ id: Int64, json: String) throws {
        try write { db in try db.execute(sql: "UPDATE notification_outbox SET progress_json = ? WHERE id = ?", arguments: [json, id]) }
    }

    /// The progress saved by earlier events of the same run for the same receiver (the github
    /// deployment a `started` event created, which `succeeded` then completes).
    public func notificationProgress(environment: String, receiver: String, runID: Int64) throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT progress_json FROM notification_outbox WHERE environment = ? AND receiver = ? AND run_id = ? AND progress_json IS NOT NULL ORDER BY id",
                                arguments: [environment, receiver, runID])
        }
    }

    /// Undelivered (pending) and failed notifications per receiver; receivers with neither are left out.
    public func notificationBacklog(environment: String? = nil) throws -> [NotificationBacklog] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT environment, receiver,
                       SUM(status = 'pending') AS pending, SUM(status = 'failed') AS failed,
                       (SELECT last_error FROM notification_outbox o2 WHERE o2.environment = o.environment AND o2.receiver = o.receiver
                          AND o2.status != 'delivered' AND o2.last_error IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_error
                FROM notification_outbox o WHERE status != 'delivered' AND (? IS NULL OR environment = ?)
                GROUP BY environment, receiver ORDER BY environment, receiver
                """, arguments: [environment, environment]).map { row in
                NotificationBacklog(environment: row["environment"], receiver: row["receiver"], pending: row["pending"] ?? 0,
                                    failed: row["failed"] ?? 0, lastError: row["last_error"])
            }
        }
    }

    static func outboxRow(_ row: Row) -> OutboxRow {
        OutboxRow(
            id: row["id"],
            entry: OutboxEntry(deliveryID: row["delivery_id"], environment: row["environment"], receiver: row["receiver"], receiverType: row["receiver_type"],
                               receiverJSON: row["receiver_json"], event: row["event"], payloadJSON: row["payload_json"], runID: row["run_id"]),
            status: OutboxRow.Status(rawValue: row["status"]) ?? .pending, createdAt: row["created_at"], nextAttemptAt: row["next_attempt_at"],
            attempts: row["attempts"], lastError: row["last_error"], progressJSON: row["progress_json"])
    }
}
