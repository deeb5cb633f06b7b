import Foundation
import Testing

/// `apply` without `--yes` shows a plan and asks; what runs after `yes` is that plan, or nothing.
extension PlanApplyTests {
    static let prompt = "Only 'yes' is accepted"

    @Test("a commit that lands while apply waits at its prompt is not applied: the previewed plan runs, the new commit stays pending")
    func commitDuringPrompt() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply()
        try fixture.edit("environments/dev/environment.yaml") { $0.replacingOccurrences(of: "epochs: 50", with: "epochs: 60") }
        let previewed = try await fixture.commit("more epochs")

        let apply = try fixture.startPrompted("apply", "--env", "dev")
        try await apply.waitForPrompt(Self.prompt)
        #expect(apply.stdout.contains("Job/train-churn"), "the preview shows the retraining:\n\(apply.stdout)")
        try fixture.edit("environments/dev/environment.yaml") { $0.replacingOccurrences(of: "epochs: 60", with: "epochs: 70") }
        let landed = try await fixture.commit("even more epochs")
        apply.answer("yes")
        let result = try await apply.wait()
        #expect(result.status == 0, "\(result)")

        let runs = try await fixture.history()
        #expect((runs.first?["commit"] as? String) == previewed, "the run applied the previewed commit: \(runs.first ?? [:])")
        #expect(try await fixture.status().lastAppliedCommit == previewed)
        let pending = try await fixture.pendingChanges()
        #expect(pending["Job/train-churn"] != nil, "the commit that landed during the prompt is pending: \(pending), head \(landed)")
    }

    @Test("an alias moved while apply waits at its prompt: apply refuses and nothing runs")
    func aliasMovedDuringPrompt() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply()
        try fixture.edit("environments/dev/environment.yaml") { $0.replacingOccurrences(of: "epochs: 50", with: "epochs: 60") }
        try await fixture.commit("more epochs")
        try await fixture.apply()
        #expect(try fixture.alias("churn-classifier") == "2")
        try fixture.edit("environments/dev/environment.yaml") { $0.replacingOccurrences(of: "epochs: 60", with: "epochs: 70") }
        try await fixture.commit("even more epochs")

        let runs = try await fixture.history().count
        let executed = fixture.executions
        let apply = try fixture.startPrompted("apply", "--env", "dev")
        try await apply.waitForPrompt(Self.prompt)
        try fixture.moveAliasByHand("churn-classifier", to: "1")
        apply.answer("yes")
        let result = try await apply.wait()
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("the actual state of dev changed since the plan was made: run `trueup plan` again"), "\(result)")
        #expect(try await fixture.history().count == runs, "a refused apply recorded a run")
        #expect(fixture.executions == executed, "a refused apply ran jobs: \(fixture.executions)")
        #expect(try fixture.alias("churn-classifier") == "1", "a refused apply moved the alias back")
    }
}
