import Foundation
import GRDB
import Testing

/// `destroy`, `stop` and `spec.exclude` end to end, on the example.
extension PlanApplyTests {
    static let servers = ["churn-api", "support-api"]

    @Test("destroy --yes stops the servers and removes the aliases, keeps versions and runs; the next plan creates everything again, without retraining")
    func destroyWithYes() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply()
        let pids = try fixture.deployments()
        #expect(pids.count == 2)

        let destroy = try await fixture.trueup("destroy", "--env", "dev", "--yes")
        #expect(destroy.status == 0, "\(destroy)")
        #expect(destroy.stdout.contains("Destroy plan for environment dev: 4 to delete"), "\(destroy)")
        #expect(destroy.stdout.contains("- Deployment/churn-api  delete"), "\(destroy)")
        #expect(destroy.stdout.contains("alias 'dev' of model churn-classifier is removed; version 1 and every other version stay in the registry"), "\(destroy)")
        #expect(destroy.stdout.contains("Kept: model and prompt versions in the registry, datasets and their versions, job runs with their outputs and logs, the run history."), "\(destroy)")
        #expect(destroy.stderr.contains("Destroyed dev: 4 removed (run 2); `trueup apply --env dev"), "\(destroy)")

        for name in Self.servers {
            #expect(fixture.serverProcesses(name).isEmpty, "\(name) still runs after destroy")
        }
        for row in pids.values { #expect(!Processes.isRunning(row.pid), "pid \(row.pid) still runs") }
        #expect(try fixture.deployments().isEmpty)
        #expect(try fixture.alias("churn-classifier") == nil)
        #expect(try fixture.alias("support-answer", type: "prompt") == nil)
        let versions = try await fixture.database().read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM model_versions WHERE model = 'churn-classifier'") }
        #expect(versions == 1, "the registry version was kept")
        let history = try await fixture.history()
        #expect(history.count == 2 && history.first?["trigger"] as? String == "destroy" && history.first?["outcome"] as? String == "succeeded", "\(history)")
        #expect(try await fixture.status().ready?.reason == "Destroyed")

        let pending = try await fixture.pendingChanges()
        #expect(pending == ["Model/churn-classifier": "create", "Prompt/support-answer": "create",
                            "Deployment/churn-api": "create", "Deployment/support-api": "create"], "\(pending)")

        // The kept runs and versions make it whole again without running a job.
        let executed = fixture.executions
        try await fixture.apply()
        #expect(fixture.executions == executed, "jobs ran again after destroy: \(fixture.executions)")
        try await fixture.expectServersAnswer(try await fixture.status())
        let again = try await fixture.trueup("destroy", "--env", "dev", "--yes")
        #expect(again.status == 0 && again.stdout.contains("4 to delete"), "\(again)")
        let nothing = try await fixture.trueup("destroy", "--env", "dev")
        #expect(nothing.status == 0 && nothing.stdout.contains("Destroy plan for environment dev: nothing to remove"), "\(nothing)")
    }

    @Test("destroy without --yes and without a terminal shows its plan and removes nothing")
    func destroyRefusedWithoutTerminal() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply()
        let before = try fixture.deployments()

        let destroy = try await fixture.trueup("destroy", "--env", "dev")
        #expect(destroy.status == 1, "\(destroy)")
        #expect(destroy.stdout.contains("- Model/churn-classifier  delete"), "the plan is shown first: \(destroy)")
        #expect(destroy.stderr.contains("refusing to destroy dev without confirmation: run it in a terminal, or pass --yes"), "\(destroy)")
        #expect(try fixture.deployments() == before)
        for row in before.values { #expect(Processes.isRunning(row.pid)) }
        #expect(try fixture.alias("churn-classifier") == "1")
        #expect(try await fixture.history().count == 1, "a refused destroy recorded a run")
    }

    @Test("destroy asks for yes; a server that died while it asked makes it refuse, and nothing is removed")
    func destroyRefusedWhenStateMoved() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply()

        let destroy = try fixture.startPrompted("destroy", "--env", "dev")
        try await destroy.waitForPrompt(Self.prompt)
        #expect(destroy.stderr.contains("Destroy dev? Only 'yes' is accepted"), "\(destroy.stderr)")
        #expect(destroy.stdout.contains("- Deployment/churn-api  delete"), "the plan is shown before the question: \(destroy.stdout)")
        let churn = try #require(try fixture.deployments()["churn-api"])
        Processes.stop(churn.pid, startTime: churn.startTime)
        destroy.answer("yes")
        let result = try await destroy.wait()
        #expect(result.status == 1, "\(result)")
        #expect(result.output.contains("the actual state of dev changed since the plan was made: run `trueup plan` again"), "\(result)")
        #expect(try fixture.alias("churn-classifier") == "1", "a refused destroy removed the alias")
        #expect(try fixture.deployments()["support-api"].map { Processes.isRunning($0.pid) } == true, "a refused destroy stopped support-api")
    }

    @Test("stop stops the local servers and removes nothing; the next plan shows them down, and apply starts them again on their ports")
    func stopServers() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply()
        let before = try fixture.deployments()

        let stop = try await fixture.trueup("stop", "--env", "dev")
        #expect(stop.status == 0, "\(stop)")
        for name in Self.servers {
            #expect(stop.stdout.contains("stopped Deployment/\(name) (pid \(before[name]!.pid), http://127.0.0.1:\(before[name]!.port))"), "\(stop)")
            #expect(fixture.serverProcesses(name).isEmpty, "\(name) still runs after stop")
        }
        #expect(stop.stdout.contains("Stopped 2 local servers of dev; nothing was removed."), "\(stop)")
        #expect(try fixture.deployments() == before, "stop forgot the deployments")
        #expect(try fixture.alias("churn-classifier") == "1")

        let plan = try await fixture.trueup("plan", "--env", "dev")
        #expect(plan.status == 2, "\(plan)")
        #expect(plan.stdout.contains("~ Deployment/churn-api  update (drift)") && plan.stdout.contains("~ Deployment/support-api  update (drift)"), "\(plan)")
        #expect(try await fixture.pendingChanges() == ["Deployment/churn-api": "update", "Deployment/support-api": "update"])

        let again = try await fixture.trueup("stop", "--env", "dev")
        #expect(again.status == 0 && again.stdout.contains("No local server of dev is running"), "\(again)")

        try await fixture.apply()
        let after = try fixture.deployments()
        for name in Self.servers { #expect(after[name]?.port == before[name]?.port, "\(name) moved port") }
        try await fixture.expectServersAnswer(try await fixture.status())
    }

    @Test("the example's prod leaves train-churn out: apply --env prod trains nothing; without the exclude the plan warns why it would train")
    func prodExcludesTraining() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        let validate = try await fixture.trueup("validate")
        #expect(validate.status == 0, "\(validate)")
        let prodPlan = try await fixture.planJSON("prod")
        let resources = (prodPlan["changes"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? String }
        #expect(!resources.contains("Job/train-churn") && resources.contains("Job/prepare-features"), "\(resources)")
        let devPlan = try await fixture.trueup("plan", "--env", "dev")
        #expect(devPlan.stdout.contains("Job/train-churn  run") && !devPlan.stdout.contains("warning:"), "\(devPlan)")

        let apply = try await fixture.trueup("apply", "--env", "prod", "--yes")
        #expect(apply.output.contains("Job/prepare-features"), "\(apply)")
        #expect(fixture.executionCounts["train-churn"] == nil, "prod trained: \(fixture.executions)")

        try fixture.edit("environments/prod/environment.yaml") { $0.replacingOccurrences(of: "  exclude: [Job/train-churn]\n", with: "") }
        try await fixture.commit("prod trains again")
        let warned = try await fixture.trueup("plan", "--env", "prod")
        #expect(warned.stdout.contains("> Job/train-churn  run"), "\(warned)")
        #expect(warned.stdout.contains("      warning: nothing in prod uses what it produces (no Dataset or Model takes it as fromJob, no gate runs it, nothing depends on it), yet it runs because every job an environment declares or inherits runs when its code, spec or inputs change: leave it out of prod with spec.exclude: [Job/train-churn] in environments/prod/environment.yaml, or set trigger: manual on it"), "\(warned)")
        let json = try await fixture.planJSON("prod")
        let change = (json["changes"] as? [[String: Any]] ?? []).first { $0["resource"] as? String == "Job/train-churn" }
        #expect((change?["warning"] as? String)?.hasPrefix("nothing in prod uses what it produces") == true, "\(String(describing: change))")
    }
}
