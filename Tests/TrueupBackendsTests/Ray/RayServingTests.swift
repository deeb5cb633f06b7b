import Foundation
import Testing
import TrueupBackends
import TrueupCore

/// Deployments as Ray Serve applications on a real head node (`RayHead`), beside an application
/// trueup does not own. Serialized: the head has two CPUs on a shared machine.
@Suite("Ray Serve deployments on a real head node", .serialized)
struct RayServingTests {
    /// A Serve application that answers with the model file it read from `TRUEUP_MODEL_URI` and
    /// the `user_config` it was given.
    static let application = """
        import os
        from ray import serve

        @serve.deployment
        class Scorer:
            def __init__(self):
                with open(os.path.join(os.environ["TRUEUP_MODEL_URI"], "weights.txt")) as f:
                    self.weights = f.read().strip()
                self.config = {}

            def reconfigure(self, config):
                self.config = config

            async def __call__(self, request):
                return {"weights": self.weights, "config": self.config, "environment": os.environ.get("TRUEUP_ENV")}

        app = Scorer.bind()
        """

    struct Stage: Sendable {
        var head: RayHead.Running
        var serve: RayHead.Serve
        var environment = UniqueName.make("env")
        var name = "scorer"
        var state: LocalState

        func serving() throws -> RayServing {
            try RayServing(url: head.url, token: nil, environment: environment, artifacts: try PathArtifactStore(path: head.store), rolloutLimitSeconds: 120)
        }

        /// A model folder in the shared store holding `weights.txt` = `weights`.
        func model(_ weights: String) async throws -> ArtifactReference {
            try await ScratchFolder.with("trueup-model") { scratch in
                try Files.write(weights + "\n", to: scratch.file("model/weights.txt"))
                return try await PathArtifactStore(path: head.store).put(folder: scratch.file("model"), lineage: nil)
            }
        }

        func request(model: ArtifactReference, version: String, config: String = #"{"threshold":0.5}"#, replicas: Int = 1, importPath: String = "scorer_app:app") -> DeploymentRequest {
            DeploymentRequest(
                environment: environment, name: name, configHash: StableHash.hex("\(version) \(config) \(replicas) \(importPath)"), assetVersion: version,
                materializeCode: { folder in try Files.write(RayServingTests.application, to: (folder as NSString).appendingPathComponent("scorer_app.py")) },
                command: [], importPath: importPath,
                environmentVariables: ["TRUEUP_MODEL_URI": model.uri, "TRUEUP_CONFIG": config, "TRUEUP_ENV": environment],
                healthPath: "/", healthTimeoutSeconds: 60, replicas: replicas, resources: JobResources(cpus: 0.25))
        }

        var applicationName: String { RayServing.applicationName(environment: environment, name: name) }

        func status() async throws -> RayClient.ServeStatus { try await head.client().serveStatus() }

        /// What the application answers through Serve's HTTP proxy.
        func answer() async throws -> [String: Any] {
            let url = "http://127.0.0.1:\(serve.httpPort)\(RayServing.routePrefix(environment: environment, name: name))"
            let response = try #require(await HTTPClient.get(url, timeoutSeconds: 20), "nothing answers at \(url)")
            #expect(response.status == 200, "\(response.body)")
            return try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
        }

        /// The other owner's application is configured exactly as it was, and running (Serve marks
        /// every application DEPLOYING for a moment after any PUT, even an unchanged one).
        func otherOwnerIsUntouched(_ before: JSONValue?) async throws {
            #expect(try await settles(serve.otherApplication, to: "RUNNING"))
            let other = try await status().applications[serve.otherApplication]
            #expect(other?.deployedConfig == before)
            #expect(try await status().httpPort == serve.httpPort, "http_options kept")
        }

        /// Whether application `name` reaches `wanted` (nil: gone) within a minute.
        func settles(_ name: String, to wanted: String?) async throws -> Bool {
            let began = Date()
            while Date().timeIntervalSince(began) < 60 {
                if try await status().applications[name]?.status == wanted { return true }
                try await Task.sleep(nanoseconds: 300_000_000)
            }
            return false
        }

        func removeAll() async { try? await serving().remove(environment: environment, name: name) }
    }

    static func withStage(_ body: @Sendable (Stage) async throws -> Void) async throws {
        let head = try await RayHead.shared.running()
        let serve = try await RayHead.shared.serve()
        try await LocalState.with { state in
            let stage = Stage(head: head, serve: serve, state: state)
            try await ServeTests.shared.exclusively {
                try await withCleanup({ try await body(stage) }, cleanup: { await stage.removeAll() })
            }
        }
    }

    @Test func anApplicationServesTheModelFromTheSharedStoreAndLeavesOtherOwnersAlone() async throws {
        try await Self.withStage { stage in
            let other = try await stage.status().applications[stage.serve.otherApplication]?.deployedConfig
            let model = try await stage.model("w=0.7")
            let request = stage.request(model: model, version: "3")
            let began = Date()
            let record = try await stage.serving().deploy(request)
            let seconds = Date().timeIntervalSince(began)
            print("ray serve: a new application RUNNING \(String(format: "%.1f", seconds)) s after deploy began")
            #expect(record.endpoint == "http://127.0.0.1:\(stage.serve.httpPort)/\(stage.environment)/scorer")
            #expect(try await stage.status().applications[stage.applicationName]?.status == "RUNNING")

            let answer = try await stage.answer()
            #expect(answer["weights"] as? String == "w=0.7", "the replica read the model from the shared store: \(answer)")
            #expect((answer["config"] as? [String: Any])?["threshold"] as? Double == 0.5, "config is the user_config: \(answer)")
            #expect(answer["environment"] as? String == stage.environment)
            try await stage.otherOwnerIsUntouched(other)

            let observed = try await stage.serving().observe(environment: stage.environment)
            #expect(Set(observed.keys) == ["scorer"])
            #expect(observed["scorer"]?.configHash == request.configHash)
            #expect(observed["scorer"]?.assetVersion == "3")
            #expect(observed["scorer"]?.problem == nil)
            #expect(try await stage.serving().observe(environment: UniqueName.make("env")).isEmpty)

            // The same request again changes nothing on the cluster.
            let deployedAt = try await stage.status().applications[stage.applicationName]?.lastDeployedTime
            _ = try await stage.serving().deploy(request)
            #expect(try await stage.status().applications[stage.applicationName]?.lastDeployedTime == deployedAt, "no PUT for an unchanged application")

            // A new config reconfigures it in place; the other owner's application stays.
            _ = try await stage.serving().deploy(stage.request(model: model, version: "3", config: #"{"threshold":0.8}"#))
            #expect((try await stage.answer()["config"] as? [String: Any])?["threshold"] as? Double == 0.8)
            try await stage.otherOwnerIsUntouched(other)

            try await stage.serving().remove(environment: stage.environment, name: stage.name)
            #expect(try await stage.serving().observe(environment: stage.environment).isEmpty, "an application being deleted is gone for trueup")
            #expect(try await stage.settles(stage.applicationName, to: nil), "Serve deletes it")
            try await stage.otherOwnerIsUntouched(other)
        }
    }

    @Test func aReplicaCountChangedThroughTheServeAPIIsDriftAndTheNextDeployHealsIt() async throws {
        try await Self.withStage { stage in
            let request = stage.request(model: try await stage.model("w=1"), version: "1")
            _ = try await stage.serving().deploy(request)

            // Someone scales it by hand through the Serve API, keeping everything else.
            let status = try await stage.status()
            let apps = status.applications.values.compactMap { app -> JSONValue? in
                guard app.name == stage.applicationName, case .object(var config)? = app.deployedConfig,
                      case .array(let deployments)? = config["deployments"] else { return app.deployedConfig }
                config["deployments"] = .array(deployments.map { deployment in
                    guard case .object(var fields) = deployment else { return deployment }
                    fields["num_replicas"] = .integer(2)
                    return .object(fields)
                })
                return .object(config)
            }
            try await stage.head.client().putServe(settings: status.settings, applications: apps)

            let problem = try await stage.serving().observe(environment: stage.environment)["scorer"]?.problem
            #expect(problem?.contains("changed outside trueup") == true, "\(problem ?? "nil")")
            #expect(problem?.contains("Scorer.num_replicas 1 -> 2") == true, "\(problem ?? "nil")")

            _ = try await stage.serving().deploy(request)
            #expect(try await stage.serving().observe(environment: stage.environment)["scorer"]?.problem == nil)
            let deployments = try await stage.status().applications[stage.applicationName]?.deployedConfig?["deployments"]?.arrayValue
            #expect(deployments?.first?["num_replicas"] == .integer(1), "healed back to the spec's replicas")
        }
    }

    @Test func aRolloutThatFailsIsPutBackToThePreviousConfiguration() async throws {
        try await Self.withStage { stage in
            let model = try await stage.model("w=good")
            let good = stage.request(model: model, version: "1")
            _ = try await stage.serving().deploy(good)

            let bad = stage.request(model: model, version: "1", importPath: "scorer_app:missing")
            await #expect {
                _ = try await stage.serving().deploy(bad)
            } throws: { error in
                let text = message(of: error)
                return text.contains(stage.environment) && text.contains("scorer") && text.contains("DEPLOY_FAILED") && text.contains("put back")
            }
            let observed = try await stage.serving().observe(environment: stage.environment)["scorer"]
            #expect(observed?.configHash == good.configHash, "the previous configuration is back")
            #expect(try await stage.settles(stage.applicationName, to: "RUNNING"))
            #expect(try await stage.answer()["weights"] as? String == "w=good")
        }
    }

    @Test func whatRayCannotServeIsRefusedSayingWhatToSet() async throws {
        try await LocalState.with { state in
            #expect {
                _ = try RayServing(url: "http://127.0.0.1:8265", token: nil, environment: "staging", artifacts: LocalArtifactStore(paths: state.paths))
            } throws: { error in
                message(of: error).contains("environment staging") && message(of: error).contains("spec.artifacts")
            }
            try await ScratchFolder.with("trueup-store") { store in
                let serving = try RayServing(url: "http://127.0.0.1:1", token: nil, environment: "staging", artifacts: try PathArtifactStore(path: store.path))
                var request = DeploymentRequest(
                    environment: "staging", name: "scorer", configHash: "h", assetVersion: "1", materializeCode: { _ in }, command: ["python3", "serve.py"],
                    importPath: nil, environmentVariables: [:], healthPath: "/", healthTimeoutSeconds: 5, replicas: 1)
                request.importPath = nil
                await #expect {
                    _ = try await serving.deploy(request)
                } throws: { error in
                    message(of: error).contains("Deployment scorer") && message(of: error).contains("spec.importPath")
                }
            }
            return ()
        }
    }
}
