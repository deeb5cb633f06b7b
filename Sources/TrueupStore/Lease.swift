import Foundation
import GRDB

/// The proof a controller shows with every write: which lease, held by whom, at which token.
public struct Fence: Sendable, Hashable {
    public var lease: String
    public var holder: String
    public var token: Int64

    public init(lease: String, holder: String, token: Int64) {
        self.lease = lease
        self.holder = holder
        self.token = token
    }
}

/// A write was refused because this process no longer holds the leader lease.
public struct FencedOut: Error, CustomStringConvertible, Sendable {
    public var description: String
}

extension StateStore {
    static func checkFence(_ fence: Fence, _ db: Database) throws {
        let row = try Row.fetchOne(db, sql: "SELECT holder, token FROM leases WHERE name = ?", arguments: [fence.lease])
        guard let row, row["holder"] as String == fence.holder, row["token"] as Int64 == fence.token else {
            throw FencedOut(description: "this controller (\(fence.holder)) lost the leader lease '\(fence.lease)'; another controller now writes the state: this one stops writing")
        }
    }

    /// Takes the lease when it is free or expired, or renews it when we hold it. Returns the fence
    /// to write with, or nil when another holder's lease is still valid. The lease check bypasses
    /// the fence (it is how a fence is obtained).
    public func acquireLease(_ name: String, holder: String, duration: Double, now: Double = Date().timeIntervalSince1970) throws -> Fence? {
        try queue.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT holder, token, expires_at FROM leases WHERE name = ?", arguments: [name]) {
                let currentHolder: String = row["holder"]
                let token: Int64 = row["token"]
                let expires: Double = row["expires_at"]
                if currentHolder == holder {
                    try db.execute(sql: "UPDATE leases SET expires_at = ? WHERE name = ?", arguments: [now + duration, name])
                    return Fence(lease: name, holder: holder, token: token)
                }
                guard expires < now else { return nil }
                try db.execute(sql: "UPDATE leases SET holder = ?, token = ?, expires_at = ? WHERE name = ?", arguments: [holder, token + 1, now + duration, name])
                return Fence(lease: name, holder: holder, token: token + 1)
            }
            try db.execute(sql: "INSERT INTO leases(name, holder, token, expires_at) VALUES (?, ?, 1, ?)", arguments: [name, holder, now + duration])
            return Fence(lease: name, holder: holder, token: 1)
        }
    }

    /// Gives the lease up (on shutdown) so a waiting controller takes over at once.
    public func releaseLease(_ fence: Fence) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND token = ?", arguments: [fence.lease, fence.holder, fence.token])
        }
    }

    public func leaseHolder(_ name: String) throws -> (holder: String, token: Int64, expiresAt: Double)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT holder, token, expires_at FROM leases WHERE name = ?", arguments: [name]).map { ($0["holder"], $0["token"], $0["expires_at"]) }
        }
    }

    /// Records a webhook delivery id; false when it was seen before (a redelivery: do nothing).
    public func recordDelivery(_ id: String, at time: Double = Date().timeIntervalSince1970) throws -> Bool {
        try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO webhook_deliveries(delivery_id, received_at) VALUES (?, ?)", arguments: [id, time])
            return db.changesCount == 1
        }
    }
}
