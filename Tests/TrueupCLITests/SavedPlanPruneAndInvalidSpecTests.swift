import Foundation
import Testing

extension PlanApplyTests {
    @Test("a saved plan is applied exactly, and refused as stale after a new commit or a hand-moved alias")
    func savedPlans() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        let first = fixture.base + "/first.json"
        let plan = try await fixture.trueup("plan", "--env", "dev", "-o", first)
        #expect(plan.status == 2, "\(plan)")
        let apply = try await fixture.trueup("apply", first)
        #expect(apply.status == 0, "\(apply)")
        #expect(try fixture.alias("churn-classifier") == "1")
        #expect(fixture.executionCounts == Self.eachJobOnce, "executions: \(fixture.executions)")

        // Saved, then git moves on: refused, and nothing happens.
        try fixture.edit("environments/dev/environment.yaml") { $0.replacingOccurrences(of: "epochs: 50", with: "epochs: 60") }
        try await fixture.commit("more epochs")
        let beforeCommit = fixture.base + "/before-commit.json"
        #expect(try await fixture.trueup("plan", "--env", "dev", "-o", beforeCommit).status == 2)
        try fixture.edit("environments/dev/environment.yaml") { $0.replacingOccurrences(of: "epochs: 60", with: "epochs: 70") }
        try await fixture.commit("even more epochs")
        let runs = try await fixture.history().count
        let executed = fixture.executions
        let stale = try await fixture.trueup("apply", beforeCommit)
        #expect(stale.status == 1, "\(stale)")
        #expect(stale.stderr.contains("stale"), "\(stale)")
        #expect(try await fixture.history().count == runs, "a refused plan recorded a run")
        #expect(fixture.executions == executed, "a refused plan ran jobs: \(fixture.executions)")
        #expect(try fixture.alias("churn-classifier") == "1")

        // A fresh plan of the new commit applies.
        let current = fixture.base + "/current.json"
        #expect(try await fixture.trueup("plan", "--env", "dev", "-o", current).status == 2)
        let applied = try await fixture.trueup("apply", current)
        #expect(applied.status == 0, "\(applied)")
        #expect(try fixture.alias("churn-classifier") == "2")

        // Saved, then someone moves the alias by hand: the actual state moved, so refused too.
        let beforeAliasMove = fixture.base + "/before-alias-move.json"
        #expect(try await fixture.trueup("plan", "--env", "dev", "-o", beforeAliasMove).status == 0)
        try fixture.moveAliasByHand("churn-classifier", to: "1")
        let moved = try await fixture.trueup("apply", beforeAliasMove)
        #expect(moved.status == 1, "\(moved)")
        #expect(moved.stderr.contains("stale"), "\(moved)")
        #expect(try fixture.alias("churn-classifier") == "1", "a refused plan changed the alias")

        try await fixture.apply()
        #expect(try fixture.alias("churn-classifier") == "2")
    }

    @Test("prune: a deployment removed from git is deleted where prune is true and left alone where it is false")
    func prune() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply("dev")
        try await fixture.apply("staging")
        let devSupport = try #require(try fixture.deployments("dev")["support-api"])
        let stagingSupport = try #require(try fixture.deployments("staging")["support-api"])
        #expect(Processes.isRunning(devSupport.pid, startTime: devSupport.startTime))
        #expect(Processes.isRunning(stagingSupport.pid, startTime: stagingSupport.startTime))

        try fixture.remove("environments/base/support/deployment.yaml")
        try await fixture.commit("no support server")

        // dev (prune: true): deleted, its process stopped, nothing else touched.
        let pending = try await fixture.pendingChanges("dev")
        #expect(pending == ["Deployment/support-api": "delete"], "plan: \(pending)")
        let churn = try #require(try fixture.deployments("dev")["churn-api"])
        try await fixture.apply("dev")
        #expect(!Processes.isRunning(devSupport.pid, startTime: devSupport.startTime), "dev's support-api still runs")
        #expect(try fixture.deployments("dev")["support-api"] == nil)
        #expect(fixture.serverProcesses("support-api", environment: "dev").isEmpty)
        let dev = try await fixture.status("dev")
        #expect(dev.resource("Deployment/support-api") == nil, "status still lists it")
        #expect(try fixture.deployments("dev")["churn-api"] == churn, "churn-api was touched")
        let churnEndpoint = try #require(dev.endpoint("Deployment/churn-api"))
        _ = try await fixture.post(churnEndpoint + "/predict", Fixture.churnRequest)
        #expect(try await fixture.trueup("plan", "--env", "dev").status == 0)

        // staging (prune: false): the plan says it is left alone, and apply leaves it serving.
        let plan = try await fixture.planJSON("staging")
        let changes = plan["changes"] as? [[String: Any]] ?? []
        let kept = try #require(changes.first { $0["resource"] as? String == "Deployment/support-api" }, "the staging plan does not mention support-api: \(changes.map { $0["resource"] ?? "?" })")
        #expect(kept["action"] as? String == "noop", "\(kept)")
        #expect((kept["reasons"] as? [String] ?? []).contains { $0.contains("prune is off") }, "\(kept)")
        try await fixture.apply("staging")
        #expect(Processes.isRunning(stagingSupport.pid, startTime: stagingSupport.startTime), "staging's support-api was stopped")
        #expect(try fixture.deployments("staging")["support-api"] == stagingSupport)
        let staging = try await fixture.status("staging")
        let supportEndpoint = try #require(staging.endpoint("Deployment/support-api"))
        let answer = try await fixture.post(supportEndpoint + "/answer", Fixture.supportRequest)
        #expect(answer["faq_id"] as? String == "reset-password", "\(answer)")
    }

    @Test("an invalid spec applies nothing: plan and apply exit 1 with file:line:col, state and servers untouched")
    func invalidSpecAppliesNothing() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply()
        let status = try await fixture.status()
        let dump = try fixture.databaseDump()
        let executed = fixture.executions

        try fixture.edit("environments/base/churn/deployment.yaml") { $0.replacingOccurrences(of: "  replicas: 1\n", with: "  replicas: [1\n") }
        try await fixture.commit("broken YAML")

        let location = #/environments/base/churn/deployment\.yaml:\d+:\d+: /#
        let plan = try await fixture.trueup("plan", "--env", "dev")
        #expect(plan.status == 1, "\(plan)")
        #expect(plan.output.contains(location), "no file:line:col in:\n\(plan)")
        let apply = try await fixture.trueup("apply", "--env", "dev", "--yes")
        #expect(apply.status == 1, "\(apply)")
        #expect(apply.output.contains(location), "no file:line:col in:\n\(apply)")
        let validate = try await fixture.trueup("validate")
        #expect(validate.status == 1, "\(validate)")
        #expect(validate.output.contains(location), "no file:line:col in:\n\(validate)")

        #expect(try fixture.databaseDump() == dump, "the state database changed")
        #expect(fixture.executions == executed, "jobs ran: \(fixture.executions)")
        let after = try await fixture.status()
        for deployment in ["Deployment/churn-api", "Deployment/support-api"] {
            let pid = try #require(after.pid(deployment))
            #expect(pid == status.pid(deployment) && Processes.isRunning(pid), "\(deployment) was touched")
        }
        try await fixture.expectServersAnswer(after)
    }
}
