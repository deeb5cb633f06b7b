import Foundation
import Testing
import TrueupCore
import TrueupStore

/// Reconcile history: runs, and each action's intent before its side effect and outcome after.
@Suite struct RunRecordsTests {
    @Test func aRunRoundTrips() async throws {
        try await StateDirectory.with { directory in
            let store = try StateStore(stateDirectory: directory)
            let revision = Sample.revision(3)
            let id = try store.startRun(environment: "staging", trigger: "webhook", revision: revision, planJSON: Sample.plan, logDirectory: "/var/log/run", at: 100.5)
            let run = try #require(try store.run(id))
            #expect(run.id == id)
            #expect(run.environment == "staging")
            #expect(run.trigger == "webhook")
            #expect(run.commit == revision.commit)
            #expect(run.author == revision.author)
            #expect(run.message == revision.message)
            #expect(run.startedAt == 100.5)
            #expect(run.finishedAt == nil)
            #expect(run.outcome == "running")
            #expect(run.planJSON == Sample.plan)
            #expect(run.logDirectory == "/var/log/run")

            try store.finishRun(id, outcome: "succeeded", at: 130)
            let finished = try #require(try store.run(id))
            #expect(finished.outcome == "succeeded")
            #expect(finished.finishedAt == 130)
            #expect(try store.run(id + 1000) == nil)
        }
    }

    @Test func actionsGoFromIntentToOutcome() async throws {
        try await StateDirectory.with { directory in
            let store = try StateStore(stateDirectory: directory)
            let run = try store.startRun(environment: "dev", trigger: "manual", revision: Sample.revision(), planJSON: Sample.plan, logDirectory: "", at: 1)
            let train = try store.recordIntent(runID: run, resource: "Job/train", action: "run", idempotencyKey: "job-identity-1", at: 2)
            let alias = try store.recordIntent(runID: run, resource: "Model/churn", action: "update", idempotencyKey: "alias-key", at: 3)

            // Before any outcome, the record says the action was attempted.
            let pending = try store.actions(runID: run)
            #expect(pending.map(\.id) == [train, alias])
            #expect(pending.map(\.status) == [.intent, .intent])
            #expect(pending[0].resource == "Job/train")
            #expect(pending[0].action == "run")
            #expect(pending[0].idempotencyKey == "job-identity-1")
            #expect(pending[0].startedAt == 2)
            #expect(pending[0].finishedAt == nil)
            #expect(pending[0].attempts == 1)

            try store.recordOutcome(actionID: train, status: .succeeded, error: nil, logPath: "/logs/train.log", resultJSON: #"{"accuracy":0.9}"#, attempts: 2, at: 10)
            try store.recordOutcome(actionID: alias, status: .failed, error: "registry unreachable", logPath: nil, resultJSON: nil, attempts: 3, at: 11)
            try store.recordSkipped(runID: run, resource: "Deployment/api", action: "update", reason: "Model/churn failed", at: 12)

            let done = try store.actions(runID: run)
            #expect(done.count == 3)
            #expect(done[0].status == .succeeded)
            #expect(done[0].logPath == "/logs/train.log")
            #expect(done[0].resultJSON == #"{"accuracy":0.9}"#)
            #expect(done[0].attempts == 2)
            #expect(done[0].finishedAt == 10)
            #expect(done[0].error == nil)
            #expect(done[1].status == .failed)
            #expect(done[1].error == "registry unreachable")
            #expect(done[1].attempts == 3)
            #expect(done[2].status == .skipped)
            #expect(done[2].resource == "Deployment/api")
            #expect(done[2].error == "Model/churn failed")
            // Actions belong to their run only.
            let other = try store.startRun(environment: "dev", trigger: "manual", revision: Sample.revision(), planJSON: Sample.plan, logDirectory: "", at: 20)
            #expect(try store.actions(runID: other).isEmpty)
        }
    }

    @Test func anActionForARunThatDoesNotExistIsRefused() async throws {
        try await StateDirectory.with { directory in
            let store = try StateStore(stateDirectory: directory)
            #expect(throws: (any Error).self) {
                try store.recordIntent(runID: 4242, resource: "Job/x", action: "run", idempotencyKey: "k", at: 1)
            }
        }
    }

    @Test func runsAreListedNewestFirstPerEnvironment() async throws {
        try await StateDirectory.with { directory in
            let store = try StateStore(stateDirectory: directory)
            var dev: [Int64] = []
            for index in 0..<5 {
                dev.append(try store.startRun(environment: "dev", trigger: "poll", revision: Sample.revision(index), planJSON: Sample.plan, logDirectory: "", at: Double(index)))
            }
            let prod = try store.startRun(environment: "prod", trigger: "poll", revision: Sample.revision(), planJSON: Sample.plan, logDirectory: "", at: 10)
            #expect(try store.runs(environment: "dev").map(\.id) == dev.reversed())
            #expect(try store.runs(environment: "dev", limit: 2).map(\.id) == [dev[4], dev[3]])
            #expect(try store.runs(environment: "prod").map(\.id) == [prod])
            #expect(try store.runs(environment: nil).map(\.id) == [prod] + dev.reversed())
            #expect(try store.runs(environment: "test").isEmpty)
        }
    }

    /// After a crash, history must tell the truth: the run was interrupted, and an action that
    /// only got as far as its intent did not succeed.
    @Test func closeInterruptedRunsClosesOnlyTheEnvironmentsRunningRuns() async throws {
        try await StateDirectory.with { directory in
            let store = try StateStore(stateDirectory: directory)
            let crashed = try store.startRun(environment: "dev", trigger: "webhook", revision: Sample.revision(), planJSON: Sample.plan, logDirectory: "", at: 1)
            let done = try store.recordIntent(runID: crashed, resource: "Dataset/raw", action: "create", idempotencyKey: "a", at: 2)
            try store.recordOutcome(actionID: done, status: .succeeded, error: nil, logPath: nil, resultJSON: nil, attempts: 1, at: 3)
            let inFlight = try store.recordIntent(runID: crashed, resource: "Job/train", action: "run", idempotencyKey: "b", at: 4)
            try store.recordSkipped(runID: crashed, resource: "Model/m", action: "update", reason: "waits for Job/train", at: 4)

            let finished = try store.startRun(environment: "dev", trigger: "manual", revision: Sample.revision(), planJSON: Sample.plan, logDirectory: "", at: 0)
            let finishedIntent = try store.recordIntent(runID: finished, resource: "Job/old", action: "run", idempotencyKey: "c", at: 0)
            try store.finishRun(finished, outcome: "failed", at: 0.5)
            let elsewhere = try store.startRun(environment: "prod", trigger: "poll", revision: Sample.revision(), planJSON: Sample.plan, logDirectory: "", at: 1)
            let elsewhereIntent = try store.recordIntent(runID: elsewhere, resource: "Job/train", action: "run", idempotencyKey: "d", at: 2)

            try store.closeInterruptedRuns(environment: "dev", at: 99)

            let closed = try #require(try store.run(crashed))
            #expect(closed.outcome == "interrupted")
            #expect(closed.finishedAt == 99)
            let actions = Dictionary(uniqueKeysWithValues: try store.actions(runID: crashed).map { ($0.resource, $0) })
            #expect(actions["Dataset/raw"]?.status == .succeeded, "a finished action keeps its outcome")
            #expect(actions["Dataset/raw"]?.finishedAt == 3)
            #expect(actions["Job/train"]?.id == inFlight)
            #expect(actions["Job/train"]?.status == .failed)
            #expect(actions["Job/train"]?.error?.contains("interrupted") == true, "the error says why: \(actions["Job/train"]?.error ?? "nil")")
            #expect(actions["Job/train"]?.finishedAt == 99)
            #expect(actions["Model/m"]?.status == .skipped)

            #expect(try store.run(finished)?.outcome == "failed", "a finished run is left alone")
            #expect(try store.actions(runID: finished).first { $0.id == finishedIntent }?.status == .intent, "only running runs' actions are closed")
            #expect(try store.run(elsewhere)?.outcome == "running", "another environment's run is left alone")
            #expect(try store.actions(runID: elsewhere).first { $0.id == elsewhereIntent }?.status == .intent)

            // Closing again finds nothing more to close.
            try store.closeInterruptedRuns(environment: "dev", at: 200)
            #expect(try store.run(crashed)?.finishedAt == 99)
        }
    }
}
