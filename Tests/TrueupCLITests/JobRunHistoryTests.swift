import Foundation
import GRDB
import Testing

/// A plan reads the recorded runs of the jobs it plans, not the environment's whole history.
@Suite("Job run history", .serialized)
struct JobRunHistoryTests {
    /// What another version of trueup might have written: a record this one cannot decode.
    static let unreadable = #"{"identity": 1}"#

    @Test("an unreadable record of an old run stops neither a plan nor history nor logs; one of the run the plan needs blocks that job alone, saying which and what to do")
    func unreadableRunRecords() async throws {
        let fixture = try await Fixture()
        try await fixture.apply()
        let trained = fixture.executionCounts["train-churn"]
        #expect(trained == 1, "executions: \(fixture.executions)")

        // An old run of train-churn, from before some commit, that cannot be read.
        try await fixture.database().write { db in
            try db.execute(sql: """
                INSERT INTO job_runs(identity, environment, job, record_json, status, updated_at)
                VALUES ('identity-of-an-old-commit', 'dev', 'train-churn', ?, 'succeeded', 0)
                """, arguments: [Self.unreadable])
        }
        #expect(try await fixture.pendingChanges() == [:], "a run no plan needs made the plan change")
        // Nor does it stop what reads the latest runs only: history and a run's log.
        let history = try await fixture.trueup("history", "--env", "dev")
        #expect(history.status == 0 && history.stdout.contains("Job/train-churn"), "\(history)")

        // The run the plan needs: this job is blocked, the rest plans as before.
        let current = try await fixture.database().read { db in
            try String.fetchOne(db, sql: "SELECT identity FROM job_runs WHERE environment = 'dev' AND job = 'train-churn' AND identity != 'identity-of-an-old-commit'")
        }
        let identity = try #require(current)
        let log = try await fixture.trueup("logs", String(identity.prefix(10)))
        #expect(log.status == 0 && log.stdout.contains("Job/train-churn"), "\(log)")
        try await fixture.database().write { db in
            try db.execute(sql: "UPDATE job_runs SET record_json = ? WHERE identity = ?", arguments: [Self.unreadable, identity])
        }
        #expect(try await fixture.pendingChanges() == ["Job/train-churn": "blocked"])
        let plan = try await fixture.trueup("plan", "--env", "dev")
        #expect(plan.output.contains("the record of its run \(identity.prefix(12)) cannot be read"), "\(plan)")
        #expect(plan.output.contains("state.db"), "the message does not say where: \(plan)")

        // Apply neither runs the job again nor takes it as done.
        _ = try await fixture.trueup("apply", "--env", "dev", "--yes")
        #expect(fixture.executionCounts["train-churn"] == trained, "executions: \(fixture.executions)")
    }
}
