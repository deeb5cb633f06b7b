import Foundation
import Testing
import TrueupBackends
import TrueupCore
import TrueupTestSupport

/// The repository's own example, unchanged but for staging's backends: jobs and serving on the test
/// head node, models and prompts in the real MLflow server (artifacts there too, the default). The
/// same job code that runs locally in `make demo` runs on Ray, the same serving code runs as Ray
/// Serve applications, and nothing reaches the cluster through trueup's disk.
@Suite("The example's staging on Ray and MLflow", .serialized)
struct ExampleStagingOnRayTests {
    @Test func stagingAppliesWithJobsOnRayModelsInMLflowAndBothAPIsServedByServe() async throws {
        let head = try await RayHead.shared.running()
        let serve = try await RayHead.shared.serve()
        let mlflow = try await MLflowTestServer.forTheExample.start()
        // Counting proxies in front of both: what an apply and a no-op plan cost in calls.
        let rayPort = try #require(head.url.split(separator: ":").last.flatMap { Int($0) })
        let rayCalls = try LoopbackProxy(upstreamPort: rayPort)
        let mlflowCalls = try LoopbackProxy(upstreamPort: mlflow.port)
        defer { rayCalls.stop(); mlflowCalls.stop() }
        try await ScratchFolder.with("trueup-example-on-ray") { scratch in
            let repo = scratch.file("repo")
            try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
            for folder in ["environments", "examples"] {
                try FileManager.default.copyItem(atPath: RayHead.repository + "/" + folder, toPath: repo + "/" + folder)
            }
            let settings = repo + "/environments/staging/environment.yaml"
            let staging = try #require(Files.read(settings))
            try Files.write(staging.replacingOccurrences(of: "spec:\n", with: """
                spec:
                  backends:
                    registry: {type: mlflow, url: "\(mlflowCalls.url)"}
                    jobs: {type: ray, url: "\(rayCalls.url)"}
                    serving: {type: ray, url: "\(rayCalls.url)"}

                """), to: settings)
            try Files.write(".trueup/\n__pycache__/\n", to: repo + "/.gitignore")
            for arguments in [["init", "-q", "-b", "main", "."], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "staging on ray and mlflow"]] {
                _ = try await Command.run("/usr/bin/git", arguments, in: repo)
            }
            let trueup = ["--repo", repo, "--state-dir", repo + "/.trueup"]
            let store = MLflowArtifactStore(client: MLflowClient(server: mlflow.url, token: nil), stateDirectory: scratch.file("cleanup-state"))
            try await ServeTests.shared.exclusively { try await withCleanup({
                let began = Date()
                let apply = try await Command.run(Command.trueup, ["apply", "--env", "staging", "--yes"] + trueup, in: repo)
                print("example staging on ray+mlflow: 3 jobs, a gate, a model, a prompt and 2 Serve applications in \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
                #expect(apply.status == 0, "\(apply.output)")
                print("example staging apply: \(Self.summary(rayCalls.requests, "Ray")); \(Self.summary(mlflowCalls.requests, "MLflow (the runner's and replicas' calls included)"))")

                // Every job of the example ran in Ray, with trueup's metadata.
                let jobs = try await head.client().jobs().filter { $0.metadata?["trueup.environment"] == "staging" }
                let names = Set(jobs.compactMap { $0.metadata?["trueup.job"] })
                #expect(names.isSuperset(of: ["prepare-features", "train-churn", "evaluate-churn"]), "\(names)")
                #expect(jobs.allSatisfy { $0.status == "SUCCEEDED" })

                // The model and the prompt are in MLflow, the staging alias on each.
                let model = await HTTPClient.get("\(mlflow.url)/api/2.0/mlflow/registered-models/get?name=churn-classifier", timeoutSeconds: 20)
                #expect(model?.status == 200 && model?.body.contains("staging") == true, "\(model?.body ?? "no answer")")

                // Both APIs answer through Serve's proxy.
                let predict = await HTTPClient.post("http://127.0.0.1:\(serve.httpPort)/staging/churn-api/predict",
                                                    body: #"{"tenure_months": 3, "monthly_charges": 95.5, "support_calls": 4, "contract": "month"}"#)
                #expect(predict?.status == 200 && predict?.body.contains("churn_probability") == true, "\(predict?.body ?? "no answer")")
                let answer = await HTTPClient.post("http://127.0.0.1:\(serve.httpPort)/staging/support-api/answer", body: #"{"question": "How do I reset my password?"}"#)
                #expect(answer?.status == 200 && answer?.body.contains("reset-password") == true, "\(answer?.body ?? "no answer")")

                let (rayBefore, mlflowBefore) = (rayCalls.requests.count, mlflowCalls.requests.count)
                let planBegan = Date()
                let plan = try await Command.run(Command.trueup, ["plan", "--env", "staging"] + trueup, in: repo)
                print("example staging no-op plan against Ray and MLflow: \(String(format: "%.2f", Date().timeIntervalSince(planBegan))) s, \(rayCalls.requests.count - rayBefore) Ray calls, \(mlflowCalls.requests.count - mlflowBefore) MLflow calls")
                #expect(plan.status == 0 && plan.output.contains("no changes"), "\(plan.output)")
                let rayBeforeAgain = rayCalls.requests.count
                let again = try await Command.run(Command.trueup, ["apply", "--env", "staging", "--yes"] + trueup, in: repo)
                #expect(again.status == 0, "\(again.output)")
                let reapplied = rayCalls.requests.dropFirst(rayBeforeAgain)
                #expect(!reapplied.contains { $0.method == "POST" || $0.method == "PUT" }, "a re-apply submits and deploys nothing: \(reapplied.map { "\($0.method) \($0.target)" })")
            }, cleanup: {
                let serving = try? RayServing(url: head.url, token: nil, environment: "staging", artifacts: store)
                for name in ["churn-api", "support-api"] { try? await serving?.remove(environment: "staging", name: name) }
            }) }
        }
    }

    /// "N calls to NAME: k GET, k POST ..." for the calls recorded.
    static func summary(_ requests: [LoopbackProxy.Request], _ name: String) -> String {
        let byMethod = Dictionary(grouping: requests, by: \.method).mapValues(\.count).sorted { $0.key < $1.key }
        return "\(requests.count) calls to \(name) (" + byMethod.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"
    }
}
