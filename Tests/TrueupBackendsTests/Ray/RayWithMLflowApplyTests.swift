import Foundation
import Testing
import TrueupBackends
import TrueupCore
import TrueupTestSupport

/// `trueup apply` of a staging-like environment with all three real systems: jobs and serving on
/// the test head node, models in the real MLflow server, artifacts in MLflow's artifact proxy (the
/// default with an MLflow registry). No shared folder: the head node sees none of trueup's disk,
/// and everything it needs comes over HTTP.
@Suite("trueup apply on Ray with an MLflow registry", .serialized)
struct RayWithMLflowApplyTests {
    /// The Serve application: the model comes as a URI MLflow's client downloads.
    static let application = """
        import os
        import mlflow
        from ray import serve

        @serve.deployment
        class Scorer:
            def __init__(self):
                folder = mlflow.artifacts.download_artifacts(artifact_uri=os.environ["TRUEUP_MODEL_URI"])
                with open(os.path.join(folder, "weights.txt")) as f:
                    self.weights = f.read().strip()

            def reconfigure(self, config):
                self.config = config

            async def __call__(self, request):
                return {"weights": self.weights, "model": os.environ["TRUEUP_MODEL_URI"]}

        app = Scorer.bind()
        """

    @Test func theJobRunsOnRayItsModelIsRegisteredInMLflowAndServedByServe() async throws {
        let head = try await RayHead.shared.running()
        let serve = try await RayHead.shared.serve()
        let mlflow = try await MLflowTestServer.shared.start()
        let environment = UniqueName.make("rayml")
        let model = UniqueName.make("scorer-model")
        try await ScratchFolder.with("trueup-ray-mlflow-apply") { scratch in
            let repo = scratch.file("repo")
            try Files.write("""
                apiVersion: trueup/v1
                kind: Environment
                metadata: {name: \(environment)}
                spec:
                  backends:
                    registry: {type: mlflow, url: "\(mlflow.url)"}
                    jobs: {type: ray, url: "\(head.url)"}
                    serving: {type: ray, url: "\(head.url)"}
                """, to: repo + "/environments/\(environment)/environment.yaml")
            try Files.write(RayApplyTests.resources.replacingOccurrences(of: "scorer-model", with: model), to: repo + "/environments/\(environment)/scorer.yaml")
            try Files.write(RayApplyTests.train, to: repo + "/code/train.py")
            try Files.write(Self.application, to: repo + "/code/scorer_app.py")
            try Files.write(".trueup/\n", to: repo + "/.gitignore")
            for arguments in [["init", "-q", "-b", "main", "."], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "scorer on ray with mlflow"]] {
                _ = try await Command.run("/usr/bin/git", arguments, in: repo)
            }
            let trueup = ["--repo", repo, "--state-dir", repo + "/.trueup"]
            let store = MLflowArtifactStore(client: MLflowClient(server: mlflow.url, token: nil), stateDirectory: scratch.file("cleanup-state"))
            try await ServeTests.shared.exclusively { try await withCleanup({
                let began = Date()
                let apply = try await Command.run(Command.trueup, ["apply", "--env", environment, "--yes"] + trueup, in: repo)
                print("ray+mlflow apply: job on Ray, model in MLflow, a RUNNING Serve application in \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
                #expect(apply.status == 0, "\(apply.output)")

                let jobs = try await head.client().jobs().filter { $0.metadata?["trueup.environment"] == environment }
                #expect(jobs.count == 1 && jobs.first?.status == "SUCCEEDED")
                #expect(jobs.first?.metadata?["trueup.job"] == "train")

                // The model is a version in MLflow's registry, with the environment's alias on it.
                let registered = await HTTPClient.get("\(mlflow.url)/api/2.0/mlflow/registered-models/get?name=\(model)", timeoutSeconds: 20)
                #expect(registered?.status == 200, "\(registered?.body ?? "no answer")")
                #expect(registered?.body.contains(environment) == true, "the alias names the environment: \(registered?.body ?? "")")

                // Served through Serve's proxy, from the files in MLflow's artifact proxy.
                let status = try await head.client().serveStatus()
                #expect(status.applications["\(environment)-scorer"]?.status == "RUNNING")
                let response = try #require(await HTTPClient.get("http://127.0.0.1:\(serve.httpPort)/\(environment)/scorer", timeoutSeconds: 20))
                #expect(response.status == 200 && response.body.contains("w=0.7"), "\(response.body)")
                #expect(response.body.contains("mlflow-artifacts:/"), "the replica got a URI, never a path of trueup's disk: \(response.body)")

                let plan = try await Command.run(Command.trueup, ["plan", "--env", environment] + trueup, in: repo)
                #expect(plan.status == 0 && plan.output.contains("no changes"), "\(plan.output)")
                let again = try await Command.run(Command.trueup, ["apply", "--env", environment, "--yes"] + trueup, in: repo)
                #expect(again.status == 0, "\(again.output)")
                #expect(try await head.client().jobs().filter { $0.metadata?["trueup.environment"] == environment }.count == 1, "re-apply submits nothing")
            }, cleanup: {
                try? await RayServing(url: head.url, token: nil, environment: environment, artifacts: store).remove(environment: environment, name: "scorer")
            }) }
        }
    }
}
