import Foundation
import Testing

/// `trueup diff` end to end: a real git repository holding the example environments, `trueup apply
/// --env dev` run on it, then a change committed on top; the report of base..HEAD is checked in
/// every format. The suites run one at a time: each applies an environment and starts its servers.
@Suite(.serialized) struct TrueupDiffTests {}

// MARK: - Golden renderings of typical pull requests

extension TrueupDiffTests {
    @Suite struct Renderings {
        /// Runs the text and Markdown renderings of `fixture` against `<name>.txt` and `<name>.md`,
        /// validates the JSON against the schema, and returns the exit status and the JSON report.
        func renderings(_ fixture: DiffFixture, _ name: String, env: String?) async throws -> (Int32, [String: Any]) {
            let text = try await fixture.diff("text", env: env)
            let markdown = try await fixture.diff("markdown", env: env)
            let (json, report) = try await fixture.jsonReport(env: env)
            #expect(text.status == json.status && markdown.status == json.status, "every format exits alike")
            #expect(markdown.stdout.hasPrefix("<!-- trueup-diff -->\n"), "the comment starts with the marker the workflow looks for")
            try GoldenFile.check(GoldenFile.normalise(text.stdout, fixture: fixture), name + ".txt")
            try GoldenFile.check(GoldenFile.normalise(markdown.stdout, fixture: fixture), name + ".md")
            try await SchemaCheck.expectValid(json.stdout, scratch: fixture.scratch)
            return (json.status, report)
        }

        @Test("prod: a model version bump (churnModelVersion)")
        func modelVersionBumpInProd() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            try fixture.edit("environments/prod/environment.yaml", replacing: #"churnModelVersion: "3""#, with: #"churnModelVersion: "4""#)
            try await fixture.commit("prod: serve churn-classifier version 4")
            let (status, report) = try await renderings(fixture, "prod-model-version", env: "prod")
            #expect(status == 2)
            let prod = try #require(report.environment("prod"))
            let model = try #require(prod.desired("Model/churn-classifier"))
            let fields = try #require(model["fields"] as? [[String: Any]])
            #expect(fields.contains { $0["path"] as? String == "spec.version" && $0["before"] as? String == "3" && $0["after"] as? String == "4" })
            #expect(prod.desired("Environment/prod") != nil, "the variable change itself is shown")
        }

        @Test("a prompt edit (template text), all environments")
        func promptEdit() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            try fixture.edit("examples/support/prompts/answer.txt",
                             replacing: "Keep the answer short, friendly and precise.",
                             with: "Keep the answer short and friendly, and name the FAQ entry you used.")
            try await fixture.commit("support: cite the FAQ entry")
            let (status, report) = try await renderings(fixture, "prompt-edit", env: nil)
            #expect(status == 2)
            let dev = try #require(report.environment("dev"))
            let prompt = try #require(dev.desired("Prompt/support-answer"))
            let field = (prompt["fields"] as? [[String: Any]])?.first { $0["path"] as? String == "spec.templateFile@content" }
            #expect((field?["after"] as? String)?.contains("name the FAQ entry you used") == true)
            #expect(dev.planned("Prompt/support-answer")?["action"] as? String == "update")
            #expect((dev.planned("Prompt/support-answer")?["reasons"] as? [String])?.contains { $0.hasPrefix("gates must pass") } == true)
        }

        @Test("dev: a new job")
        func newJob() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            let jobs = try fixture.read("environments/base/churn/jobs.yaml")
            try fixture.write("environments/base/churn/jobs.yaml", jobs + """
                ---
                # Nightly batch scoring of every customer with the environment's model.
                apiVersion: trueup/v1
                kind: Job
                metadata:
                  name: score-customers
                  labels: {team: growth, domain: churn}
                spec:
                  code: examples/churn
                  command: [python3, evaluate.py, --batch]
                  inputs:
                    datasets: [features]
                  trigger: {schedule: "0 2 * * *"}
                  timeout: 15m

                """)
            try await fixture.commit("churn: nightly batch scoring")
            let (status, report) = try await renderings(fixture, "new-job", env: "dev")
            #expect(status == 2)
            let dev = try #require(report.environment("dev"))
            #expect(dev.desired("Job/score-customers")?["change"] as? String == "added")
            #expect(dev.planned("Job/score-customers") != nil)
        }

        @Test("dev: retraining (a), what it sets off (b), and drift that was already there (c)")
        func retrainWithDrift() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            // Someone stopped the churn-api server by hand: drift, independent of the pull request.
            let servers = try fixture.recordedServers()
            #expect(servers.count == 2)
            let churnAPI = try #require(try await fixture.serverRecord("churn-api"))
            stopProcess(pid: churnAPI.0, startTime: churnAPI.1)
            try fixture.edit("environments/dev/environment.yaml", replacing: "epochs: 50", with: "epochs: 80")
            try await fixture.commit("dev: train longer")
            let (status, report) = try await renderings(fixture, "retrain-with-drift", env: "dev")
            #expect(status == 2)
            let dev = try #require(report.environment("dev"))
            #expect(dev.planned("Job/train-churn")?["action"] as? String == "run")
            // Git changes churn-api too (a new model), so its update is not flagged as drift, but says why.
            #expect((dev.planned("Deployment/churn-api")?["reasons"] as? [String])?.contains { $0.contains("is not running") } == true)
            let drift = dev["drift"] as? [[String: Any]] ?? []
            #expect(drift.map { $0["resource"] as? String } == ["Deployment/churn-api"])
        }

        @Test("a deleted resource: deleted in dev (prune: true), left alone in staging (prune: false)")
        func deletedResource() async throws {
            let fixture = try await DiffFixture(apply: ["dev", "staging"])
            defer { fixture.close() }
            try fixture.remove("environments/base/support/deployment.yaml")
            try await fixture.commit("support: retire the support-api server")
            let (devStatus, devReport) = try await renderings(fixture, "deleted-resource-dev", env: "dev")
            #expect(devStatus == 2)
            let dev = try #require(devReport.environment("dev"))
            #expect(dev.desired("Deployment/support-api")?["change"] as? String == "removed")
            #expect(dev.planned("Deployment/support-api")?["action"] as? String == "delete")

            let (_, stagingReport) = try await renderings(fixture, "deleted-resource-staging", env: "staging")
            let staging = try #require(stagingReport.environment("staging"))
            #expect(staging.desired("Deployment/support-api")?["change"] as? String == "removed")
            let kept = try #require(staging.planned("Deployment/support-api"))
            #expect(kept["action"] as? String == "noop")
            #expect((kept["reasons"] as? [String])?.contains { $0.contains("prune is off") } == true)
            #expect(!staging.planChanges.contains { $0["action"] as? String == "delete" })
        }

        @Test("a broken commit: the environment is invalid, with file:line:col, exit 1")
        func brokenCommit() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            try fixture.write("environments/staging/churn-api.yaml", """
                apiVersion: trueup/v1
                kind: Deployment
                metadata:
                  name: churn-api
                spec:
                  replicas: [2

                """)
            try await fixture.commit("staging: two replicas (typo)")
            let (status, report) = try await renderings(fixture, "broken-commit", env: "staging")
            #expect(status == 1)
            let staging = try #require(report.environment("staging"))
            #expect(staging["status"] as? String == "invalid")
            #expect(staging["plan"] == nil, "nothing would be applied")
            let errors = staging["errors"] as? [String] ?? []
            #expect(errors.contains { $0.range(of: #"^environments/staging/churn-api\.yaml:[0-9]+:[0-9]+: "#, options: .regularExpression) != nil },
                    "errors say file:line:col: \(errors)")
            #expect(staging.desiredChanges.count == 0, "what an unreadable head changes is unknown, not 'everything removed'")

            // The whole report still shows the other environments, and still exits 1.
            let (all, whole) = try await fixture.jsonReport()
            #expect(all.status == 1)
            #expect(whole.environment("dev")?["status"] as? String == "valid")
            try await SchemaCheck.expectValid(all.stdout, scratch: fixture.scratch)
        }
    }
}
