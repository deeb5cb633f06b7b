import Foundation
import Testing
import TrueupTestSupport

/// The example's dev environment applied with `registry: {type: mlflow}` against a real MLflow
/// server, then checked with MLflow's own Python client.
@Suite("apply with an MLflow registry", .serialized)
struct MLflowApplyTests {
    /// The dev environment pointed at `url` for its registry (the other roles stay local).
    static func useMLflow(_ fixture: Fixture, url: String, environment: String = "dev") throws {
        try fixture.edit("environments/\(environment)/environment.yaml") {
            $0.replacingOccurrences(of: "registry: {type: local}", with: "registry: {type: mlflow, url: \"\(url)\"}")
        }
    }

    @Test("apply registers the model, its run and the prompt in MLflow; a second plan is a no-op")
    func applyDevIntoMLflow() async throws {
        let url = try await MLflowTestServer.shared.start().url
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try Self.useMLflow(fixture, url: url)
        let commit = try await fixture.commit("dev's registry is MLflow")

        let started = ContinuousClock.now
        let apply = try await fixture.trueup("apply", "--env", "dev", "--yes")
        let applySeconds = started.duration(to: .now)
        #expect(apply.status == 0, "\(apply)")

        let planStarted = ContinuousClock.now
        let plan = try await fixture.trueup("plan", "--env", "dev")
        let planSeconds = planStarted.duration(to: .now)
        #expect(plan.status == 0, "a second plan has nothing to do: \(plan)")
        print("end-to-end apply of dev into MLflow: \(applySeconds); no-op plan against MLflow: \(planSeconds)")

        // status reads the lineage from MLflow: the version's run, its job and commit.
        let status = try await fixture.trueup("status", "--env", "dev")
        #expect(status.stdout.contains("produced by Job/train-churn run") && status.stdout.contains("at commit \(commit.prefix(12))"), "\(status)")

        let out = try await MLflowTestServer.python("""
            import json, mlflow, os
            c = mlflow.MlflowClient()
            v = c.get_model_version_by_alias("churn-classifier", "dev")
            run = c.get_run(v.run_id)
            files = sorted(f.path for f in c.list_artifacts(v.run_id, "model"))
            gates = c.search_runs([run.info.experiment_id], "tags.`trueup.job` = 'evaluate-churn'")
            p = mlflow.genai.load_prompt("prompts:/support-answer@dev", cache_ttl_seconds=0)
            print(json.dumps({
                "version": v.version, "source": v.source, "tags": v.tags,
                "versions": len(c.search_model_versions("name='churn-classifier'")),
                "run_tags": run.data.tags, "experiment": mlflow.get_experiment(run.info.experiment_id).name,
                "run_metrics": run.data.metrics, "run_params": run.data.params,
                "gate_runs": [{"metrics": g.data.metrics, "tags": g.data.tags, "status": g.info.status} for g in gates],
                "files": files, "prompt": p.template, "prompt_config": p.model_config,
            }))
            """, url: url, in: fixture.base)
        let line = try #require(out.split(separator: "\n").last, "\(out)")
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let tags = seen["tags"] as? [String: String] ?? [:]
        #expect(seen["versions"] as? Int == 1, "one version: \(seen)")
        #expect((seen["source"] as? String)?.hasPrefix("mlflow-artifacts:/") == true, "registered from the run's artifacts: \(seen)")
        #expect(tags["trueup.commit"] == commit)
        #expect(tags["trueup.environment"] == "dev")
        #expect(tags["trueup.job"] == "train-churn")
        #expect(tags["trueup.gates.dev"] == "passed", "gate results are version tags: \(tags)")
        #expect(tags["trueup.source"]?.hasPrefix("job:") == true)
        #expect(seen["experiment"] as? String == "trueup/dev")
        #expect((seen["run_tags"] as? [String: String])?["trueup.commit"] == commit)
        // The training run's metrics.json and parameters are the MLflow run's.
        let runMetrics = seen["run_metrics"] as? [String: Double] ?? [:]
        #expect(runMetrics["train_auc"] != nil && runMetrics["train_loss"] != nil, "the run's metrics: \(seen)")
        // The gate is a run too, tagged with the candidate version it judged.
        let gateRuns = seen["gate_runs"] as? [[String: Any]] ?? []
        #expect(gateRuns.count == 1, "\(gateRuns)")
        let gateTags = gateRuns.first?["tags"] as? [String: String] ?? [:]
        #expect(gateTags["trueup.candidate.model"] == "churn-classifier" && gateTags["trueup.candidate.version"] == seen["version"] as? String, "\(gateTags)")
        #expect(gateTags["trueup.gate.verdict"] == "passed" && gateRuns.first?["status"] as? String == "FINISHED")
        #expect((gateRuns.first?["metrics"] as? [String: Double])?["auc"] != nil, "\(gateRuns)")
        let runParams = seen["run_params"] as? [String: String] ?? [:]
        #expect(runParams["command"]?.contains("train.py") == true && runParams["command"]?.contains("--epochs 50") == true, "the run's params: \(runParams)")
        #expect(!(seen["files"] as? [String] ?? []).isEmpty, "the model's files are the run's artifacts: \(seen)")
        let template = try fixture.read("examples/support/prompts/answer.txt")
        #expect(seen["prompt"] as? String == template, "load_prompt returns the template trueup registered")
        #expect((seen["prompt_config"] as? [String: Any])?["model"] as? String == "gpt-4o-mini")

        // Drift: someone registers a version by hand and moves the alias to it with MLflow's client.
        _ = try await MLflowTestServer.python("""
            import mlflow
            c = mlflow.MlflowClient()
            v = c.create_model_version("churn-classifier", "s3://elsewhere/churn")
            c.set_registered_model_alias("churn-classifier", "dev", v.version)
            """, url: url, in: fixture.base)
        let drift = try await fixture.trueup("drift", "--env", "dev")
        #expect(drift.status == 3, "\(drift)")
        #expect(drift.stdout.contains("Model/churn-classifier"), "\(drift)")
        let heal = try await fixture.trueup("apply", "--env", "dev", "--yes")
        #expect(heal.status == 0, "\(heal)")
        let after = try await MLflowTestServer.python("""
            import mlflow
            c = mlflow.MlflowClient()
            print(c.get_model_version_by_alias("churn-classifier", "dev").version, len(c.search_model_versions("name='churn-classifier'")))
            """, url: url, in: fixture.base)
        #expect(after.split(separator: "\n").last.map(String.init) == "\(seen["version"] as? String ?? "?") 2", "the alias is back, nothing new registered: \(after)")
    }

    @Test("promote from staging to prod, both on MLflow: one version line changes, validate and prod's plan succeed")
    func promoteBetweenEnvironmentsOnMLflow() async throws {
        let url = try await MLflowTestServer.shared.start().url
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        for environment in ["staging", "prod"] {
            try fixture.edit("environments/\(environment)/environment.yaml") {
                // The test server is shared with other tests: prod pins a version no one registers.
                $0.replacingOccurrences(of: "\nspec:\n", with: "\nspec:\n  backends:\n    registry: {type: mlflow, url: \"\(url)\"}\n")
                    .replacingOccurrences(of: "churnModelVersion: \"3\"", with: "churnModelVersion: \"1000\"")
            }
        }
        _ = try await fixture.commit("staging and prod keep their models in MLflow")
        try await fixture.apply("staging")
        // What staging serves, as MLflow's own client sees it.
        let live = try await MLflowTestServer.python("""
            import mlflow
            print(mlflow.MlflowClient().get_model_version_by_alias("churn-classifier", "staging").version)
            """, url: url, in: fixture.base)
        let staging = try #require(live.split(separator: "\n").last.map(String.init))

        let promote = try await fixture.trueup("promote", "--from", "staging", "--to", "prod")
        #expect(promote.status == 0 && promote.stdout.contains("committed "), "\(promote)")
        #expect(try await fixture.git("diff", "--numstat", "HEAD~1", "HEAD") == "1\t1\tenvironments/prod/environment.yaml", "only the version line")
        #expect(try await fixture.git("diff", "-U0", "HEAD~1", "HEAD").contains("+    churnModelVersion: \"\(staging)\""))
        let validate = try await fixture.trueup("validate")
        #expect(validate.status == 0, "\(validate)")
        let plan = try await fixture.trueup("plan", "--env", "prod")
        #expect(plan.status == 2 && !plan.output.contains("blocked"), "\(plan)")
        #expect(plan.stdout.contains("version: (none) -> \(staging)"), "\(plan)")
    }

    @Test("a gate that fails on MLflow leaves the alias where it was; the version and its failed gate run are recorded")
    func aFailedGateLeavesTheAlias() async throws {
        let url = try await MLflowTestServer.shared.start().url
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try Self.useMLflow(fixture, url: url)
        _ = try await fixture.commit("dev's registry is MLflow")
        let first = try await fixture.trueup("apply", "--env", "dev", "--yes")
        #expect(first.status == 0, "\(first)")
        let read = """
            import mlflow
            c = mlflow.MlflowClient()
            print(c.get_model_version_by_alias("churn-classifier", "dev").version)
            """
        let before = try await MLflowTestServer.python(read, url: url, in: fixture.base).split(separator: "\n").last.map(String.init)

        // A retrained candidate held to a bar no model here reaches.
        try fixture.edit("environments/base/churn/model.yaml") { $0.replacingOccurrences(of: "auc: \">= 0.75\"", with: "auc: \">= 0.999\"") }
        try fixture.edit("environments/dev/environment.yaml") { $0.replacingOccurrences(of: "epochs: 50", with: "epochs: 61") }
        _ = try await fixture.commit("a stricter gate and a retrain")
        let failed = try await fixture.trueup("apply", "--env", "dev", "--yes")
        #expect(failed.status == 1, "\(failed)")
        #expect(failed.output.contains("gate Job/evaluate-churn did not pass"), "\(failed)")
        let after = try await MLflowTestServer.python(read + """

            gates = c.search_runs([e.experiment_id for e in c.search_experiments(filter_string="name = 'trueup/dev'")],
                                  "tags.`trueup.gate.verdict` = 'failed'")
            print(len(gates), gates[0].info.status if gates else "none")
            """, url: url, in: fixture.base)
        let lines = after.split(separator: "\n").map(String.init)
        #expect(lines.dropLast().last == before, "the alias stays on \(before ?? "?"): \(after)")
        #expect(lines.last?.hasSuffix(" FAILED") == true && lines.last?.hasPrefix("0") == false, "the failed gate is a FAILED run: \(after)")
    }

    @Test("with the MLflow server down, plan exits 1 naming the URL and nothing is applied")
    func serverDown() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        // A port nothing listens on: bound, then closed.
        let url = "http://127.0.0.1:9"
        try Self.useMLflow(fixture, url: url)
        try await fixture.commit("dev's registry is an MLflow server that is down")
        let plan = try await fixture.trueup("plan", "--env", "dev", timeout: 300)
        #expect(plan.status == 1, "\(plan)")
        #expect(plan.output.contains(url), "the error names the server: \(plan)")
        let apply = try await fixture.trueup("apply", "--env", "dev", "--yes", timeout: 300)
        #expect(apply.status != 0, "\(apply)")
        #expect(fixture.executions.isEmpty, "no job ran: \(fixture.executions)")
    }
}
