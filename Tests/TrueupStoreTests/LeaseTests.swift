import Foundation
import Testing
import TrueupStore

/// The controller's leader lease and the fence every write carries, seen from two stores on one
/// file (two controllers, two processes).
@Suite struct LeaseTests {
    @Test func oneHolderAtATimeAndTheTokenGrowsOnTakeover() async throws {
        try await StateDirectory.with { directory in
            let (a, b) = (try StateStore(stateDirectory: directory), try StateStore(stateDirectory: directory))
            let first = try #require(try a.acquireLease("leader", holder: "a", duration: 30, now: 100))
            #expect(first == Fence(lease: "leader", holder: "a", token: 1))
            #expect(try b.acquireLease("leader", holder: "b", duration: 30, now: 110) == nil, "a valid lease is not taken")
            #expect(try a.acquireLease("leader", holder: "a", duration: 30, now: 120) == first, "renewing keeps the token")
            #expect(try b.acquireLease("leader", holder: "b", duration: 30, now: 149) == nil, "renewed until 150")

            let second = try #require(try b.acquireLease("leader", holder: "b", duration: 30, now: 151))
            #expect(second.token == 2, "a takeover moves the token on")
            #expect(try a.leaseHolder("leader")?.holder == "b")
            #expect(try a.acquireLease("leader", holder: "a", duration: 30, now: 152) == nil)
        }
    }

    /// A paused old leader wakes up after its lease was taken over: none of its writes may land.
    @Test func aStaleLeaderCannotWrite() async throws {
        try await StateDirectory.with { directory in
            let (old, new) = (try StateStore(stateDirectory: directory), try StateStore(stateDirectory: directory))
            let oldFence: Fence = try #require(try old.acquireLease("leader", holder: "old", duration: 10, now: 0))
            old.setFence(oldFence)
            try old.recordAttempt(environment: "prod", commit: "aaa", at: 1)

            let newFence: Fence = try #require(try new.acquireLease("leader", holder: "new", duration: 10, now: 20))
            new.setFence(newFence)
            #expect(throws: FencedOut.self) { try old.recordAttempt(environment: "prod", commit: "stale", at: 21) }
            #expect(throws: FencedOut.self) {
                try old.startRun(environment: "prod", trigger: "poll", revision: Sample.revision(), planJSON: Sample.plan, logDirectory: "", at: 21)
            }
            #expect(try new.environmentStatus("prod")?.lastAttemptedCommit == "aaa", "the stale write did not land")
            #expect(try new.runs(environment: "prod").isEmpty)

            try new.recordAttempt(environment: "prod", commit: "bbb", at: 22)
            #expect(try old.environmentStatus("prod")?.lastAttemptedCommit == "bbb", "reading still works for the old leader")
            // A command line store has no fence and writes as before.
            try StateStore(stateDirectory: directory).recordAttempt(environment: "dev", commit: "ccc", at: 23)
        }
    }

    @Test func aReleasedLeaseIsTakenAtOnce() async throws {
        try await StateDirectory.with { directory in
            let (a, b) = (try StateStore(stateDirectory: directory), try StateStore(stateDirectory: directory))
            let fence = try #require(try a.acquireLease("leader", holder: "a", duration: 3600, now: 0))
            try a.releaseLease(fence)
            #expect(try b.acquireLease("leader", holder: "b", duration: 3600, now: 1)?.token == 2)
        }
    }

    @Test func aRedeliveredWebhookIsSeenOnce() async throws {
        try await StateDirectory.with { directory in
            let (a, b) = (try StateStore(stateDirectory: directory), try StateStore(stateDirectory: directory))
            #expect(try a.recordDelivery("delivery-1", at: 1) == true)
            #expect(try a.recordDelivery("delivery-1", at: 2) == false)
            #expect(try b.recordDelivery("delivery-1", at: 3) == false, "another process sees it too")
            #expect(try b.recordDelivery("delivery-2", at: 4) == true)
        }
    }
}
