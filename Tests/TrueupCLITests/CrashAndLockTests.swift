import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension PlanApplyTests {
    /// Where a `kill -9` lands: after a delay, or once the job wrappers report train-churn running.
    enum KillPoint: CustomTestStringConvertible, Sendable {
        case after(seconds: Double)
        case whileTraining
        /// Killed while training, then the re-apply (which adopts the running job) is killed too.
        case whileTrainingTwice

        var testDescription: String {
            switch self {
            case .after(let seconds): return "after \(seconds) s"
            case .whileTraining: return "while train-churn runs"
            case .whileTrainingTwice: return "while train-churn runs, and again while the re-apply waits for it"
            }
        }
    }

    @Test("kill -9 of apply, then apply again: every job ran once, the database is sound, no job is left",
          arguments: [KillPoint.after(seconds: 0.3), .after(seconds: 0.8), .after(seconds: 1.5), .whileTraining, .whileTrainingTwice])
    func killedApplyConverges(at point: KillPoint) async throws {
        let fixture = try await Fixture(.init(trainSleepSeconds: 4))
        defer { fixture.stopEverything() }

        let first = try fixture.start(["apply", "--env", "dev", "--yes"])
        try await killWhen(point, first, fixture)
        if case .whileTrainingTwice = point {
            // The job outlives the killed trueup; the next apply adopts it and waits. Kill that one too.
            let second = try fixture.start(["apply", "--env", "dev", "--yes"])
            #expect(try await eventually { second.stderr.contains("Job/train-churn") || !second.isRunning }, "\(second.stderr)")
            try await Task.sleep(for: .milliseconds(500))
            second.killHard()
            _ = try await second.wait()
        }

        let reapply = try await fixture.trueup("apply", "--env", "dev", "--yes")
        #expect(reapply.status == 0, "\(reapply)")
        #expect(fixture.executionCounts == Self.eachJobOnce, "executions: \(fixture.executions)")
        let runIDs = fixture.executions.compactMap { $0.count > 1 ? $0[1] : nil }
        #expect(Set(runIDs).count == runIDs.count, "a run id executed twice: \(fixture.executions)")
        #expect(try fixture.integrityCheck() == ["ok"])

        // No job process is left: neither the wrappers that wrote `started` nor anything in a run folder.
        for pid in fixture.jobPids() {
            #expect(try await eventually(timeout: 30) { !Processes.isRunning(pid) }, "job process \(pid) still runs")
        }
        #expect(Processes.running(under: fixture.stateDirectory + "/runs").isEmpty)

        // Converged: nothing more to do, servers up, one process each.
        let plan = try await fixture.trueup("plan", "--env", "dev")
        #expect(plan.status == 0, "\(plan)")
        let status = try await fixture.status()
        #expect(status.state("Model/churn-classifier", "version") == "1")
        #expect(fixture.serverProcesses("churn-api").count == 1, "churn-api processes: \(fixture.serverProcesses("churn-api"))")
        #expect(fixture.serverProcesses("support-api").count == 1, "support-api processes: \(fixture.serverProcesses("support-api"))")
        try await fixture.expectServersAnswer(status)
        let history = try await fixture.history()
        #expect(history.first?["outcome"] as? String == "succeeded", "\(history.first ?? [:])")
        #expect(!history.contains { $0["outcome"] as? String == "running" }, "a killed run is still shown as running: \(history.map { $0["outcome"] ?? "?" })")
    }

    private func killWhen(_ point: KillPoint, _ apply: ChildProcess, _ fixture: Fixture) async throws {
        switch point {
        case .after(let seconds):
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        case .whileTraining, .whileTrainingTwice:
            let training = try await eventually { fixture.executionCounts["train-churn"] == 1 || !apply.isRunning }
            #expect(training && apply.isRunning, "train-churn never started while apply ran:\n\(apply.stderr)")
        }
        apply.killHard()
        let killed = try await apply.wait()
        if apply.stderr.contains("Applied dev") {
            // Too late on this machine: it had finished. The re-apply must then be a no-op.
            Issue.record("apply finished before the kill at \(point.testDescription); the crash was not exercised (\(killed.status))")
        }
    }

    @Test("two applies at once: one applies, the other fails fast; with --lock-timeout it waits and is a no-op")
    func concurrentApplies() async throws {
        let fixture = try await Fixture(.init(trainSleepSeconds: 8))
        defer { fixture.stopEverything() }
        // The state database exists before the race, so only the environment lock is under test
        // here (creating it concurrently has its own test: freshStateOpenedConcurrently).
        #expect(try await fixture.trueup("history", "--env", "dev").status == 0)

        let a = try fixture.start(["apply", "--env", "dev", "--yes"])
        let b = try fixture.start(["apply", "--env", "dev", "--yes"])
        // Whichever loses the lock fails at once, while the winner is still training.
        var loserFinishedFirst = false
        let oneFinished = try await eventually(timeout: Fixture.commandTimeout) {
            guard !a.isRunning || !b.isRunning else { return false }
            loserFinishedFirst = a.isRunning || b.isRunning
            return true
        }
        #expect(oneFinished)
        let results = [try await a.wait(), try await b.wait()]
        let winners = results.filter { $0.status == 0 }
        let losers = results.filter { $0.status != 0 }
        #expect(winners.count == 1 && losers.count == 1, "\(results)")
        #expect(loserFinishedFirst, "the second apply did not fail fast:\n\(results)")
        if let loser = losers.first {
            #expect(loser.status == 1)
            #expect(loser.stderr.contains("is being applied by"), "\(loser)")
        }
        #expect(fixture.executionCounts == Self.eachJobOnce, "executions: \(fixture.executions)")
        #expect(try await fixture.history().count == 1, "the losing apply recorded a run")

        // A new commit: the first apply trains again (slowly); the second waits for the lock.
        try fixture.edit("environments/dev/environment.yaml") { $0.replacingOccurrences(of: "epochs: 50", with: "epochs: 60") }
        try await fixture.commit("more epochs")
        let first = try fixture.start(["apply", "--env", "dev", "--yes"])
        let lockFile = fixture.stateDirectory + "/locks/dev.lock"
        #expect(try await eventually {
            ((try? String(contentsOfFile: lockFile, encoding: .utf8)) ?? "").contains("pid \(first.pid) ") || !first.isRunning
        }, "the first apply never held the lock")
        let waiting = try fixture.start(["apply", "--env", "dev", "--yes", "--lock-timeout", "120"])
        let firstResult = try await first.wait()
        let executedByFirst = fixture.executions
        let waitingResult = try await waiting.wait()
        #expect(firstResult.status == 0, "\(firstResult)")
        #expect(waitingResult.status == 0, "\(waitingResult)")
        #expect(waitingResult.stderr.contains("no changes"), "the waiting apply was not a no-op:\n\(waitingResult)")
        #expect(fixture.executions == executedByFirst, "the waiting apply ran jobs: \(fixture.executions)")
        var expected = Self.eachJobOnce
        expected["train-churn"] = 2
        expected["evaluate-churn"] = 2
        #expect(fixture.executionCounts == expected, "executions: \(fixture.executions)")
        #expect(try fixture.alias("churn-classifier") == "2")
    }

    @Test("trueup commands started at once on a fresh state directory all open it",
          .bug(id: "state-open-race", "creating state.db races: 'table ... already exists' or 'database is locked' on PRAGMA journal_mode"))
    func freshStateOpenedConcurrently() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        // The race window is small: several rounds of several processes make it show reliably.
        var failures: [String] = []
        for round in 1...5 {
            try? FileManager.default.removeItem(atPath: fixture.stateDirectory)
            let commands = try (1...6).map { _ in try fixture.start(["history", "--env", "dev"]) }
            for command in commands {
                let result = try await command.wait()
                if result.status != 0 { failures.append("round \(round): \(result.stderr)") }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of 30 commands failed to open the state, for example:\n\(Set(failures.map { String($0.prefix(300)) }).sorted().prefix(3).joined(separator: "\n"))")
    }
}
