import Foundation
import TrueupStore

/// One active leader per state directory (DESIGN §6): the lease in the state store, taken when
/// free or expired, renewed well inside its duration, given back on shutdown. The fence it yields
/// is set on the store, which then checks it inside every write transaction: a controller that
/// lost the lease (paused, partitioned, slow) cannot write, whatever it still believes.
struct LeaderElection: Sendable {
    let store: StateStore
    let holder: String
    /// Seconds a lease lasts without renewal.
    let duration: Double

    /// Renewals come three times per lease duration, so two can fail before the lease expires.
    var renewalPeriod: Double { duration / 3 }

    /// The fence to write with when the lease is ours now; nil while another holder's is valid.
    func tryAcquire(now: Double = Date().timeIntervalSince1970) throws -> Fence? {
        try store.acquireLease(ControllerConfiguration.leaseName, holder: holder, duration: duration, now: now)
    }

    /// Extends our lease; false when it is no longer ours (another controller took it over).
    func renew(_ fence: Fence, now: Double = Date().timeIntervalSince1970) throws -> Bool {
        try store.acquireLease(fence.lease, holder: holder, duration: duration, now: now) == fence
    }

    /// Who holds the lease now, for status ("standby: the leader is ...").
    func currentLeader(now: Double = Date().timeIntervalSince1970) -> String? {
        guard let lease = try? store.leaseHolder(ControllerConfiguration.leaseName), lease.expiresAt >= now, lease.holder != holder else { return nil }
        return lease.holder
    }

    func release(_ fence: Fence) throws {
        try store.releaseLease(fence)
    }

    /// A fence no lease ever carries (tokens start at 1): set before the lease is first taken and
    /// kept after it is lost, so that every write of a controller that is not leading is refused.
    func nobodysFence() -> Fence {
        Fence(lease: ControllerConfiguration.leaseName, holder: holder, token: 0)
    }
}
