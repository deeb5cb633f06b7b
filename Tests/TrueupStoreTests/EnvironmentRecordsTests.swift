import Foundation
import GRDB
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
            let spec: JSONValue = .object(["fromJob": .string("train"), "alias": .string("champion")])
            let first = AppliedResource(environment: "prod", id: model, summary: .object(["alias": .string("champion"), "version": .string("3")]), spec: spec,
                                        registryName: "churn-classifier", alias: "champion", appliedCommit: "aaa", appliedAt: 1)
            try store.recordApplied(first)
            try store.recordApplied(AppliedResource(environment: "prod", id: job, summary: .object(["identity": .string("run-1")]), spec: .object([:]),
                                                    codeTree: "tree-1", inputs: ["customers": "d92f"], appliedCommit: "aaa", appliedAt: 1))
            try store.recordApplied(AppliedResource(environment: "dev", id: model, summary: .object(["version": .string("9")]), spec: nil, appliedCommit: "bbb", appliedAt: 2))

            // Applying the same resource again replaces its entry.
            let summary: JSONValue = .object(["alias": .string("champion"), "version": .string("4"), "tags": .array([.string("x"), .integer(2), .number(0.5), .bool(true), .null])])
            let second = AppliedResource(environment: "prod", id: model, summary: summary, spec: spec, registryName: "churn-classifier", alias: "champion", appliedCommit: "ccc", appliedAt: 5)
            try store.recordApplied(second)
            let prod = try store.appliedResources(environment: "prod")
            #expect(Set(prod.keys) == [model, job])
            #expect(prod[model] == second, "every field round-trips exactly")
            #expect(prod[model]?.summary == summary)
            #expect(prod[model]?.spec == spec)
            #expect(prod[model]?.summaryMatches(summary) == true, "a no-op compares hashes")
            #expect(prod[model]?.summaryMatches(.object(["alias": .string("champion"), "version": .string("3")])) == false)
            #expect(prod[model]?.specMatches(spec) == true)
            #expect(prod[job]?.inputs == ["customers": "d92f"])
            #expect(prod[job]?.codeTree == "tree-1")

            try store.forgetApplied(environment: "prod", id: model)
            #expect(Set(try store.appliedResources(environment: "prod").keys) == [job])
            #expect(try store.appliedResources(environment: "dev")[model]?.appliedCommit == "bbb", "other environments keep theirs")
            // Forgetting what is not there is fine.
            try store.forgetApplied(environment: "prod", id: model)
            #expect(try store.appliedResources(environment: "nowhere").isEmpty)
        }
    }

    /// A state database from before typed columns (one `state_json` per row) is migrated on open.
    @Test func aStateDatabaseWithJSONStateIsMigratedToTypedColumns() async throws {
        try await StateDirectory.with { directory in
            let path = (directory as NSString).appendingPathComponent("state.db")
            do {
                let old = try DatabaseQueue(path: path)
                try old.write { db in
                    try db.execute(sql: """
                        CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                        INSERT INTO grdb_migrations VALUES ('v1'), ('v2-leases');
                        CREATE TABLE environment_status (name TEXT PRIMARY KEY, last_applied_commit TEXT, last_applied_at REAL,
                            last_attempted_commit TEXT, last_attempted_at REAL, conditions_json TEXT NOT NULL DEFAULT '[]', pending_plan_json TEXT);
                        CREATE TABLE applied_resources (environment TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, state_json TEXT NOT NULL,
                            applied_commit TEXT NOT NULL, applied_at REAL NOT NULL, PRIMARY KEY (environment, kind, name));
                        """)
                    try db.execute(sql: "INSERT INTO applied_resources VALUES ('dev', 'Model', 'churn', ?, 'abc', 7)", arguments: [
                        #"{"alias":"dev","registryName":"churn-classifier","spec":{"fromJob":"train"},"summary":{"alias":"dev","version":"2"}}"#,
                    ])
                    try db.execute(sql: "INSERT INTO applied_resources VALUES ('dev', 'Job', 'train', ?, 'abc', 7)", arguments: [
                        #"{"codeTree":"t1","inputs":{"customers":"d92f"},"spec":{"code":"examples/churn"},"summary":{"identity":"run-1"}}"#,
                    ])
                }
            }
            let store = try StateStore(stateDirectory: directory)
            let applied = try store.appliedResources(environment: "dev")
            let model = try #require(applied[ResourceID(.model, "churn")])
            #expect(model.registryName == "churn-classifier")
            #expect(model.alias == "dev")
            #expect(model.summary == .object(["alias": .string("dev"), "version": .string("2")]))
            #expect(model.summaryMatches(.object(["alias": .string("dev"), "version": .string("2")])))
            #expect(model.specMatches(.object(["fromJob": .string("train")])))
            #expect(model.appliedCommit == "abc" && model.appliedAt == 7)
            let job = try #require(applied[ResourceID(.job, "train")])
            #expect(job.codeTree == "t1")
            #expect(job.inputs == ["customers": "d92f"])
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
