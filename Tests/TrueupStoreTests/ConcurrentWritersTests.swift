import Foundation
import Testing
import TrueupCore
import TrueupStore

/// Two `StateStore`s on one file are two connections, as two trueup processes (a controller and
/// a `trueup apply`) would have. SQLite's locking and the busy timeout must make both succeed,
/// and nothing may be lost or corrupted.
@Suite struct ConcurrentWritersTests {
    static let writesPerWriter = 60

    @Test func twoStoresWritingAtOnceBothSucceed() async throws {
        try await StateDirectory.with { directory in
            let stores = [try StateStore(stateDirectory: directory), try StateStore(stateDirectory: directory)]
            // The same model from both writers: each version number must still be handed out once.
            async let a = onThread { try Self.write(stores[0], writer: "a") }
            async let b = onThread { try Self.write(stores[1], writer: "b") }
            let written = try await [a, b]

            let check = try StateStore(stateDirectory: directory)
            #expect(try check.integrityCheck() == "ok")
            for (writer, runs) in zip(["a", "b"], written) {
                #expect(try check.runs(environment: writer, limit: 1000).count == Self.writesPerWriter)
                for run in runs {
                    let actions = try check.actions(runID: run)
                    #expect(actions.map(\.status) == [.succeeded], "run \(run) of writer \(writer): \(actions)")
                }
                #expect(try check.appliedResources(environment: writer).count == Self.writesPerWriter)
            }
        }
    }

    /// Two processes starting at once on a state directory that has no database yet.
    @Test func storesOpenedAtOnceOnAFreshDirectoryAllSucceed() async throws {
        for _ in 0..<5 {
            try await StateDirectory.with { directory in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            try await onThread {
                                let store = try StateStore(stateDirectory: directory)
                                try store.recordAttempt(environment: "dev", commit: "abc", at: 1)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try StateStore(stateDirectory: directory).integrityCheck() == "ok")
            }
        }
    }

    /// A controller keeps its store open and writes; meanwhile `trueup` commands come and go, each
    /// opening the state, writing a little and closing it again. Every write must succeed.
    @Test func commandsOpeningAndClosingTheStateBesideALongLivedWriterAllSucceed() async throws {
        try await StateDirectory.with { directory in
            let controller = try StateStore(stateDirectory: directory)
            let rounds = 40
            async let controllerWrites: Void = onThread {
                for index in 0..<(rounds * 3) {
                    try controller.recordAttempt(environment: "controller", commit: "c\(index)", at: Double(index))
                    _ = try controller.runs(environment: "controller")
                }
            }
            async let commands: Void = onThread {
                for index in 0..<rounds {
                    let command = try StateStore(stateDirectory: directory)
                    try command.recordAttempt(environment: "cli", commit: "c\(index)", at: Double(index))
                    _ = try command.environmentStatus("controller")
                }
            }
            async let moreCommands: Void = onThread {
                for index in 0..<rounds {
                    let command = try StateStore(stateDirectory: directory)
                    _ = try command.recordDelivery("delivery-\(index)")
                }
            }
            _ = try await (controllerWrites, commands, moreCommands)
            #expect(try controller.environmentStatus("cli")?.lastAttemptedCommit == "c\(rounds - 1)")
            #expect(try controller.integrityCheck() == "ok")
        }
    }

    /// One writer's share of the work: a reconcile run with one action each and an applied
    /// resource. (Model versions, numbered by a read-then-write transaction, are the local
    /// backend's: LocalBackendStoreTests checks two writers there.)
    static func write(_ store: StateStore, writer: String) throws -> [Int64] {
        var runs: [Int64] = []
        for index in 0..<writesPerWriter {
            let run = try store.startRun(environment: writer, trigger: "poll", revision: Sample.revision(index), planJSON: Sample.plan, logDirectory: "", at: Double(index))
            let action = try store.recordIntent(runID: run, resource: "Job/j\(index)", action: "run", idempotencyKey: "\(writer)-\(index)", at: Double(index))
            try store.recordOutcome(actionID: action, status: .succeeded, error: nil, logPath: nil, resultJSON: nil, attempts: 1, at: Double(index))
            try store.finishRun(run, outcome: "succeeded", at: Double(index))
            try store.recordApplied(AppliedResource(environment: writer, id: ResourceID(.job, "j\(index)"), summary: .object(["i": .integer(Int64(index))]), spec: nil, appliedCommit: "c", appliedAt: Double(index)))
            runs.append(run)
        }
        return runs
    }
}
