import Foundation
import Testing
import TrueupCore
import TrueupStore

/// The applied inventory (what drift and prune are computed against) and environment status.
@Suite struct EnvironmentRecordsTests {
    @Test func appliedInventoryUpsertsAndForgets() async throws {
        try await StateDirectory.with { directory in
            let store = try StateStore(stateDirectory: directory)
            let model = ResourceID(.model, "churn")
            let job = ResourceID(.job, "train")
            let first: JSONValue = .object(["alias": .string("champion"), "version": .string("3")])
            try store.recordApplied(AppliedResource(environment: "prod", id: model, state: first, appliedCommit: "aaa", appliedAt: 1))
            try store.recordApplied(AppliedResource(environment: "prod", id: job, state: .object(["identity": .string("run-1")]), appliedCommit: "aaa", appliedAt: 1))
            try store.recordApplied(AppliedResource(environment: "dev", id: model, state: .object(["version": .string("9")]), appliedCommit: "bbb", appliedAt: 2))

            // Applying the same resource again replaces its entry.
            let second: JSONValue = .object(["alias": .string("champion"), "version": .string("4"), "tags": .array([.string("x"), .integer(2), .number(0.5), .bool(true), .null])])
            try store.recordApplied(AppliedResource(environment: "prod", id: model, state: second, appliedCommit: "ccc", appliedAt: 5))
            let prod = try store.appliedResources(environment: "prod")
            #expect(Set(prod.keys) == [model, job])
            #expect(prod[model]?.state == second, "the state round-trips exactly")
            #expect(prod[model]?.appliedCommit == "ccc")
            #expect(prod[model]?.appliedAt == 5)
            #expect(prod[model]?.environment == "prod")
            #expect(prod[model]?.id == model)

            try store.forgetApplied(environment: "prod", id: model)
            #expect(Set(try store.appliedResources(environment: "prod").keys) == [job])
            #expect(try store.appliedResources(environment: "dev")[model]?.appliedCommit == "bbb", "other environments keep theirs")
            // Forgetting what is not there is fine.
            try store.forgetApplied(environment: "prod", id: model)
            #expect(try store.appliedResources(environment: "nowhere").isEmpty)
        }
    }

    @Test func environmentStatusKeepsAppliedAndAttemptedApart() async throws {
        try await StateDirectory.with { directory in
            let store = try StateStore(stateDirectory: directory)
            #expect(try store.environmentStatus("prod") == nil)
            let ready = Condition(type: "Ready", status: true, reason: "Applied", message: "all 4 resources in sync", since: 10)
            try store.recordAttempt(environment: "prod", commit: "aaa", at: 9)
            try store.recordApplied(environment: "prod", commit: "aaa", at: 10, conditions: [ready])
            // A later commit that failed to apply moves only the attempt.
            try store.recordAttempt(environment: "prod", commit: "bbb", at: 20)
            try store.setPendingPlan(environment: "prod", json: Sample.plan)

            let status = try #require(try store.environmentStatus("prod"))
            #expect(status.lastAppliedCommit == "aaa")
            #expect(status.lastAppliedAt == 10)
            #expect(status.lastAttemptedCommit == "bbb")
            #expect(status.lastAttemptedAt == 20)
            #expect(status.conditions == [ready])
            #expect(status.pendingPlanJSON == Sample.plan)

            let drifted = Condition(type: "Drifted", status: true, reason: "AliasMoved", message: "Model/churn alias champion moved", since: 30)
            try store.setConditions(environment: "prod", [ready, drifted])
            try store.setPendingPlan(environment: "prod", json: nil)
            let later = try #require(try store.environmentStatus("prod"))
            #expect(later.conditions == [ready, drifted])
            #expect(later.pendingPlanJSON == nil)
            #expect(later.lastAppliedCommit == "aaa")

            try store.recordAttempt(environment: "dev", commit: "ccc", at: 1)
            #expect(try store.allEnvironmentStatuses().map(\.name) == ["dev", "prod"])
        }
    }
}
