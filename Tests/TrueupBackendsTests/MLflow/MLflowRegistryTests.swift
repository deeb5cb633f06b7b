import Foundation
import Synchronization
import Testing
@testable import TrueupBackends
import TrueupCore
import TrueupTestSupport

/// The mlflow registry backend against a real MLflow server (`MLflowTestServer`).
@Suite("MLflow registry against a real server", .serialized)
struct MLflowRegistryTests {
    static func registry(_ url: String, token: String? = nil, retry: MLflowRetryPolicy = .standard, pageSize: Int = 1000) -> MLflowRegistry {
        MLflowRegistry(client: MLflowClient(server: url, token: token, retry: retry), environment: "conformance", pageSize: pageSize)
    }

    @Test(arguments: RegistryConformance.Check.allCases)
    func conformance(_ check: RegistryConformance.Check) async throws {
        let server = try await MLflowTestServer.shared.start()
        try await RegistryConformance.run(check, on: RegistrySubject { Self.registry(server.url) })
    }

    /// Observe costs pages, not one request per resource: 250 models and 250 prompts (one version
    /// each) take one search per kind and per page, counted at the proxy.
    @Test func observingFiveHundredModelsAndPromptsTakesAFewPagedSearches() async throws {
        let server = try await MLflowTestServer.shared.start()
        let setup = MLflowClient(server: server.url, token: nil)
        let run = UUID().uuidString.prefix(6).lowercased()
        let models = (0..<250).map { "count-\(run)-model-\($0)" }
        let prompts = (0..<250).map { "count-\(run)-prompt-\($0)" }
        // Made straight through the API, several at a time: only the observe below is measured.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, name) in (models + prompts).enumerated() {
                if index >= 8 { try await group.next() }
                let isPrompt = index >= models.count
                group.addTask {
                    let promptTag: [String: String] = isPrompt ? ["mlflow.prompt.is_prompt": "true"] : [:]
                    try await setup.post("registered-models/create", .object(["name": .string(name), "tags": MLflowTags.json(promptTag)]))
                    let versionTags = isPrompt ? MLflowPromptTags.tags(template: "t \(index)", config: .object([:]), hash: "h\(index)") : ["trueup.source": "job:\(index)"]
                    try await setup.post("model-versions/create", .object([
                        "name": .string(name), "source": .string(isPrompt ? "dummy-source" : "s3://bucket/\(name)"), "tags": MLflowTags.json(versionTags),
                    ]))
                }
            }
            try await group.waitForAll()
        }
        try await setup.post("registered-models/alias", .object(["name": .string(models[7]), "alias": .string("dev"), "version": .string("1")]))

        for pageSize in [1000, 100] {
            let proxy = try LoopbackProxy(upstreamPort: server.port)
            defer { proxy.stop() }
            let started = ContinuousClock.now
            let state = try await Self.registry(proxy.url, pageSize: pageSize).observe(models: Set(models), prompts: Set(prompts))
            let elapsed = started.duration(to: .now)
            #expect(state.models.count == 250 && state.prompts.count == 250)
            #expect(state.models.values.allSatisfy { $0.versions.count == 1 }, "every model's version is observed")
            #expect(state.prompts.values.allSatisfy { $0.versions.count == 1 }, "every prompt's version is observed")
            #expect(state.models[models[7]]?.aliases == ["dev": "1"])
            #expect(state.prompts[prompts[3]]?.versions["1"]?.template == "t 253")
            let requests = proxy.requests
            // Per kind, the names go into as few `name IN (...)` filters as the URL budget allows;
            // each filter costs two searches (registered models, versions), ceil(names / page) pages each.
            var expected = 0
            for names in [models, prompts] {
                for clause in try MLflowFilter.nameClauses(Set(names), budget: 6000) {
                    let count = clause.split(separator: ",").count
                    expected += 2 * ((count + pageSize - 1) / pageSize)
                }
            }
            #expect(requests.count == expected, "\(requests.count) requests at page size \(pageSize): \(requests.map(\.target))")
            #expect(requests.count <= 4 * (2 + (250 + pageSize - 1) / pageSize), "pages plus a small constant, never one request per resource")
            #expect(requests.allSatisfy { $0.method == "GET" && $0.target.contains("/search?") })
            if pageSize < 250 { #expect(requests.contains { $0.target.contains("page_token=") }, "later pages are asked for by page_token") }
            print("observe of 250 models + 250 prompts at page size \(pageSize): \(requests.count) requests, \(elapsed)")
        }
    }

    /// 503s and resets are retried with backoff; the call succeeds once the server answers.
    @Test func unavailableAndResetAnswersAreRetried() async throws {
        let server = try await MLflowTestServer.shared.start()
        let proxy = try LoopbackProxy(upstreamPort: server.port) { request in
            switch request.index {
            case 0, 1: return .unavailable
            case 2: return .reset
            default: return .forward
            }
        }
        defer { proxy.stop() }
        let prompt = UniqueName.make("flaky")
        let info = try await Self.registry(proxy.url).registerPromptVersion(PromptRegistration(prompt: prompt, template: "Hi {{name}}", config: .object([:]), tags: [:]))
        #expect(info.version == "1")
        let creates = proxy.requests.filter { $0.target.hasSuffix("registered-models/create") }
        #expect(creates.count == 4, "the create was tried four times: \(proxy.requests.map(\.target))")
    }

    /// The create's answer is lost after the server made the version: the retry finds that
    /// version by its idempotency tag instead of making a second one.
    @Test func aCreateWhoseAnswerWasLostIsAdoptedNotRepeated() async throws {
        let server = try await MLflowTestServer.shared.start()
        let lost = Mutex(false)
        let proxy = try LoopbackProxy(upstreamPort: server.port) { request in
            guard request.target.hasSuffix("model-versions/create") else { return .forward }
            return lost.withLock { done in
                defer { done = true }
                return done ? .forward : .forwardThenReset
            }
        }
        defer { proxy.stop() }
        try await ScratchFolder.with { scratch in
            let model = UniqueName.make("lost")
            let folder = try RegistryConformance.modelFolder(in: scratch, "weights")
            let registry = Self.registry(proxy.url)
            let first = try await registry.registerModelVersion(ModelRegistration(model: model, sourceLocation: folder, idempotencyKey: "job:lost", tags: ["trueup.source": "job:lost"]))
            let again = try await registry.registerModelVersion(ModelRegistration(model: model, sourceLocation: folder, idempotencyKey: "job:lost", tags: ["trueup.source": "job:lost"]))
            #expect(again.version == first.version)
            let versions = try #require(try await Self.registry(server.url).observe(models: [model], prompts: []).models[model]).versions
            #expect(Array(versions.keys) == [first.version], "one version, though the create was sent once more after its answer was lost")
            #expect(proxy.requests.filter { $0.target.hasSuffix("model-versions/create") }.count == 1, "found by its tag, not created again")
            #expect(versions[first.version]?.tags["trueup.mlflow.source"]?.hasPrefix("mlflow-artifacts:/") == true, "the files were uploaded as a run's artifacts")
        }
    }

    /// A stalled server is given up on per request and retried; a server that keeps failing is
    /// given up on after the bounded time, with an error naming the server and the call and
    /// never the token.
    @Test func stallsAreTimedOutAndPersistentFailuresGiveUpNamingServerAndCall() async throws {
        let server = try await MLflowTestServer.shared.start()
        let token = "tok-\(UUID().uuidString)"
        let policy = MLflowRetryPolicy(requestTimeout: .seconds(1), giveUpAfter: .seconds(3), firstPause: .milliseconds(100), longestPause: .milliseconds(400))
        let stalling = try LoopbackProxy(upstreamPort: server.port) { $0.index == 0 ? .stall(3) : .forward }
        defer { stalling.stop() }
        let state = try await Self.registry(stalling.url, token: token, retry: policy).observe(models: ["absent-\(UUID().uuidString.prefix(6))"], prompts: [])
        #expect(state.models.count == 1)
        #expect(stalling.requests.count == 3, "the stalled search is sent again: \(stalling.requests.map(\.target))")
        #expect(stalling.requests.allSatisfy { $0.headers["authorization"] == "Bearer \(token)" }, "the token goes as a bearer token")

        let down = try LoopbackProxy(upstreamPort: server.port) { _ in .unavailable }
        defer { down.stop() }
        let started = ContinuousClock.now
        let error = await #expect(throws: BackendError.self) {
            try await Self.registry(down.url, token: token, retry: policy).setModelAlias(model: "m", alias: "dev", version: "1")
        }
        #expect(started.duration(to: .now) < .seconds(6), "gave up within the bounded time")
        let text = error.map { String(describing: $0) } ?? ""
        #expect(text.contains(down.url) && text.contains("registered-models/alias") && text.contains("gave up after"), "\(text)")
        #expect(!text.contains(token), "the token never shows")
        #expect(error?.transient == true)
    }

    @Test func reservedAndInvalidAliasesAreRefusedBeforeAnyCall() async throws {
        let proxy = try LoopbackProxy(upstreamPort: 9) { _ in .unavailable }
        defer { proxy.stop() }
        for alias in ["latest", "v3", "V12", "not ok"] {
            let error = await #expect(throws: BackendError.self) { try await Self.registry(proxy.url).setModelAlias(model: "m", alias: alias, version: "1") }
            #expect(error?.transient == false)
            #expect(error.map { String(describing: $0).contains("spec.alias") } == true)
        }
        #expect(proxy.requests.isEmpty)
    }

    /// What trueup registers is what MLflow's own Python client loads.
    @Test func aPromptLoadsWithMLflowsOwnClient() async throws {
        let server = try await MLflowTestServer.shared.start()
        let prompt = UniqueName.make("support")
        let registry = Self.registry(server.url)
        let template = "Answer the question: {{question}}\nBe kind."
        let config: JSONValue = .object(["model": .string("gpt-4o-mini"), "temperature": .number(0.2)])
        let info = try await registry.registerPromptVersion(PromptRegistration(prompt: prompt, template: template, config: config, tags: ["trueup.commit": "abc123"]))
        try await registry.setPromptAlias(prompt: prompt, alias: "dev", version: info.version)
        let out = try await MLflowTestServer.python("""
            import json, mlflow
            p = mlflow.genai.load_prompt("prompts:/\(prompt)@dev", cache_ttl_seconds=0)
            print("RESULT", json.dumps({"template": p.template, "version": p.version, "config": p.model_config, "vars": sorted(p.variables)}))
            """, url: server.url)
        let line = try #require(MLflowTestServer.result(out), "\(out)")
        let loaded = try JSONValue.parse(Data(line.utf8))
        #expect(loaded["template"]?.stringValue == template)
        #expect(loaded["version"]?.intValue == Int(info.version))
        #expect(loaded["config"]?["model"]?.stringValue == "gpt-4o-mini")
        #expect(loaded["config"]?["temperature"]?.doubleValue == 0.2)
        #expect(loaded["vars"] == .array([.string("question")]))
    }

    /// A model registered from files: MLflow's client downloads exactly those files.
    @Test func modelFilesDownloadWithMLflowsOwnClient() async throws {
        let server = try await MLflowTestServer.shared.start()
        try await ScratchFolder.with { scratch in
            let model = UniqueName.make("files")
            let folder = try RegistryConformance.modelFolder(in: scratch, "weights")
            let info = try await Self.registry(server.url).registerModelVersion(ModelRegistration(
                model: model, sourceLocation: folder, idempotencyKey: "job:files", tags: ["trueup.commit": "abc123", "trueup.job": "train"]))
            let out = try await MLflowTestServer.python("""
                import mlflow, os
                path = mlflow.artifacts.download_artifacts("models:/\(model)/\(info.version)", dst_path="\(scratch.path)/download")
                print("RESULT", open(os.path.join(path, "model.bin")).read().strip())
                run = mlflow.MlflowClient().get_run(mlflow.MlflowClient().get_model_version("\(model)", "\(info.version)").run_id)
                print("RESULT", run.data.tags.get("trueup.commit"), run.info.status, mlflow.get_experiment(run.info.experiment_id).name)
                """, url: server.url)
            let lines = out.split(separator: "\n").filter { $0.hasPrefix("RESULT ") }.map { String($0.dropFirst(7)) }
            #expect(lines == ["weights of weights", "abc123 FINISHED trueup/conformance"], "\(out)")
        }
    }
}
