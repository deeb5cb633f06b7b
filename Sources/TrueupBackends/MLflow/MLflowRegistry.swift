import Foundation
import TrueupCore

/// Models and prompts in a real MLflow tracking server (DESIGN §7), so that what trueup does shows
/// in MLflow's UI and clients.
///
/// - A trueup model is one MLflow registered model (its `registryName`); a version's lineage,
///   identity and gate results are version tags under `trueup.`, as the engine writes them.
/// - A prompt is stored as MLflow stores prompts (see `MLflowPromptTags`), so
///   `mlflow.genai.load_prompt("prompts:/NAME@ALIAS")` loads what trueup registered.
/// - Creating a version is crash safe: each version trueup creates carries an idempotency tag, and
///   an earlier attempt is looked for by that tag before anything is created.
/// - A model made from files (a job's `model/` output) is uploaded as an MLflow run's artifacts
///   through the server's artifact proxy and registered from that run (`MLflowModelUpload`), so
///   MLflow can serve and download it.
public struct MLflowRegistry: RegistryBackend {
    let client: MLflowClient
    /// Runs that hold uploaded model files go to the experiment `trueup/<environment>`.
    let environment: String
    /// Where a job's output artifact is read from before it is uploaded.
    let artifacts: (any ArtifactStore)?
    /// `max_results` of each search page (MLflow allows up to 1,000 for registered models).
    let pageSize: Int
    /// At most this many characters of names go into one search filter: the filter travels in the
    /// URL, and proxies in front of MLflow cap request lines (nginx: 8 KB by default).
    let filterBudget: Int

    public init(client: MLflowClient, environment: String, artifacts: (any ArtifactStore)? = nil, pageSize: Int = 1000, filterBudget: Int = 6000) {
        self.client = client
        self.environment = environment
        self.artifacts = artifacts
        self.pageSize = max(1, min(pageSize, 1000))
        self.filterBudget = filterBudget
    }

    // MARK: - Observe

    public func observe(models: Set<String>, prompts: Set<String>) async throws -> RegistryState {
        var state = RegistryState()
        for model in models { state.models[model] = RegistryState.Model() }
        for prompt in prompts { state.prompts[prompt] = RegistryState.Prompt() }
        do {
            for clause in try MLflowFilter.nameClauses(models, budget: filterBudget) {
                for registered in try await searchRegisteredModels(filter: clause) where models.contains(registered.name) {
                    for alias in registered.aliases ?? [] { state.models[registered.name, default: .init()].aliases[alias.alias] = alias.version }
                }
                for version in try await searchVersions(filter: clause) where models.contains(version.name) {
                    state.models[version.name, default: .init()].versions[version.version] = modelInfo(version)
                }
            }
            for clause in try MLflowFilter.nameClauses(prompts, budget: filterBudget) {
                let filter = "\(clause) AND \(MLflowFilter.isPrompt)"
                for registered in try await searchRegisteredModels(filter: filter) where prompts.contains(registered.name) {
                    for alias in registered.aliases ?? [] { state.prompts[registered.name, default: .init()].aliases[alias.alias] = alias.version }
                }
                for version in try await searchVersions(filter: filter) where prompts.contains(version.name) {
                    state.prompts[version.name, default: .init()].versions[version.version] = MLflowPromptTags.info(version)
                }
            }
        } catch let error as MLflowError {
            throw error.backendError
        }
        return state
    }

    /// Every page of `registered-models/search` for the filter.
    func searchRegisteredModels(filter: String) async throws -> [MLflowAPI.RegisteredModel] {
        var found: [MLflowAPI.RegisteredModel] = []
        var token: String?
        repeat {
            var query = [("filter", filter), ("max_results", String(pageSize))]
            if let token { query.append(("page_token", token)) }
            let page = try await client.get("registered-models/search", query: query, as: MLflowAPI.RegisteredModelSearch.self)
            found += page.registered_models ?? []
            token = page.next_page_token.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return found
    }

    /// Every page of `model-versions/search` for the filter.
    func searchVersions(filter: String) async throws -> [MLflowAPI.ModelVersion] {
        var found: [MLflowAPI.ModelVersion] = []
        var token: String?
        repeat {
            var query = [("filter", filter), ("max_results", String(pageSize))]
            if let token { query.append(("page_token", token)) }
            let page = try await client.get("model-versions/search", query: query, as: MLflowAPI.ModelVersionSearch.self)
            found += page.model_versions ?? []
            token = page.next_page_token.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return found
    }

    func modelInfo(_ version: MLflowAPI.ModelVersion) -> ModelVersionInfo {
        var tags = version.tagMap
        let source = version.source ?? ""
        // Where trueup hands the files to later steps: the artifact store's URI when the version
        // came from a job's output (MLflow keeps its own copy at `source`), else MLflow's source.
        let location = tags[MLflowTags.artifactURI] ?? source
        tags[MLflowTags.mlflowSource] = source
        return ModelVersionInfo(model: version.name, version: version.version, location: location, source: tags["trueup.source"] ?? source, tags: tags)
    }

    // MARK: - Models

    public func registerModelVersion(_ request: ModelRegistration) async throws -> ModelVersionInfo {
        do {
            try MLflowFilter.checkName(request.model, kind: "model")
            let key = ContentDigest.sha256(request.idempotencyKey)
            try await ensureRegisteredModel(request.model, prompt: false)
            let byKey = "name = '\(request.model)' AND tags.`\(MLflowTags.idempotency)` = '\(key)'"
            if let earlier = try await searchVersions(filter: byKey).first { return modelInfo(earlier) }

            var tags = request.tags
            tags[MLflowTags.idempotency] = key
            var body: [String: JSONValue] = ["name": .string(request.model)]
            if let folder = try await localFolder(of: request) {
                if let artifact = request.artifact { tags[MLflowTags.artifactURI] = artifact.uri }
                let upload = MLflowModelUpload(client: client, environment: environment)
                let run = try await upload.upload(folder: folder, key: key, name: request.model, tags: request.tags, metrics: request.metrics, params: request.params)
                body["source"] = .string(run.source)
                body["run_id"] = .string(run.runID)
            } else {
                body["source"] = .string(request.sourceLocation)
            }
            body["tags"] = MLflowTags.json(tags)
            let created = try await createOnce(body: .object(body), path: "model-versions/create", lookup: byKey)
            return modelInfo(try await waitUntilReady(created))
        } catch let error as MLflowError {
            throw error.backendError
        }
    }

    /// The local folder holding the version's files, when it has some: a job output's artifact
    /// (read from the environment's artifact store) or a folder given directly. An external URI
    /// (`s3://...`) has none and is registered as it is.
    func localFolder(of request: ModelRegistration) async throws -> String? {
        if let artifact = request.artifact {
            guard let artifacts else {
                throw BackendError("MLflow registry for environment \(environment): model \(request.model) comes from artifact \(artifact.uri), but no artifact store was given to read it from")
            }
            return try await artifacts.get(artifact)
        }
        var path = request.sourceLocation
        if path.hasPrefix("file://") { path = String(path.dropFirst("file://".count)) }
        guard !path.contains("://") else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackendError("MLflow registry: model \(request.model)'s source \(request.sourceLocation) is neither a folder here nor a URI MLflow can record (s3://, gs://, ...)")
        }
        return path
    }

    /// Creates a version once per attempt, never blindly twice: before every retry the version is
    /// looked for by its idempotency tag, since a create whose answer was lost may have happened.
    func createOnce(body: JSONValue, path: String, lookup: String) async throws -> MLflowAPI.ModelVersion {
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.post(path, body, as: MLflowAPI.ModelVersionAnswer.self, retrying: false).model_version
            } catch let error as MLflowError where error.transient {
                if let earlier = try await searchVersions(filter: lookup).first { return earlier }
                guard let pause = client.retry.pause(afterAttempt: attempt, elapsed: started.duration(to: .now)) else {
                    var final = error
                    final.attempts = attempt
                    final.seconds = started.duration(to: .now).seconds
                    throw final
                }
                try await Task.sleep(for: pause)
            }
        }
    }

    /// New versions are READY at once with most stores; some register asynchronously.
    func waitUntilReady(_ version: MLflowAPI.ModelVersion) async throws -> MLflowAPI.ModelVersion {
        var current = version
        let started = ContinuousClock.now
        while current.status == "PENDING_REGISTRATION", started.duration(to: .now) < client.retry.giveUpAfter {
            try await Task.sleep(for: .milliseconds(500))
            current = try await client.get("model-versions/get", query: [("name", version.name), ("version", version.version)], as: MLflowAPI.ModelVersionAnswer.self).model_version
        }
        if current.status == "FAILED_REGISTRATION" {
            throw BackendError("MLflow at \(client.server): version \(current.version) of \(current.name) failed to register; see the version in MLflow's UI")
        }
        return current
    }

    /// Creates the registered model unless it exists; a name taken by the other kind (a prompt
    /// where a model is wanted, or the reverse) is an error, since both share one namespace.
    func ensureRegisteredModel(_ name: String, prompt: Bool) async throws {
        var body: [String: JSONValue] = ["name": .string(name)]
        if prompt { body["tags"] = MLflowTags.json([MLflowPromptTags.isPrompt: "true"]) }
        do {
            try await client.post("registered-models/create", .object(body))
            return
        } catch let error as MLflowError where error.isAlreadyExists {
            // Created by an earlier attempt, by another environment or by hand: check its kind.
        }
        let existing = try await client.get("registered-models/get", query: [("name", name)], as: MLflowAPI.RegisteredModelAnswer.self).registered_model
        let isPrompt = existing.tags?.contains { $0.key == MLflowPromptTags.isPrompt && $0.value == "true" } ?? false
        if isPrompt != prompt {
            throw BackendError("MLflow at \(client.server): \(name) is an MLflow \(isPrompt ? "prompt" : "model"), so it cannot hold trueup's \(prompt ? "prompt" : "model") of that name (models and prompts share one namespace): rename one of them (spec.registryName for a Model)")
        }
    }

    public func setModelAlias(model: String, alias: String, version: String) async throws {
        try await setAlias(name: model, alias: alias, version: version)
    }

    public func deleteModelAlias(model: String, alias: String) async throws {
        try await deleteAlias(name: model, alias: alias)
    }

    public func tagModelVersion(model: String, version: String, tags: [String: String]) async throws {
        try await tagVersion(name: model, version: version, tags: tags)
        do {
            try await MLflowGateRuns(client: client, environment: environment).record(candidate: model, version: version, kind: "model", tags: tags)
        } catch let error as MLflowError {
            throw error.backendError
        }
    }

    // MARK: - Prompts

    public func registerPromptVersion(_ request: PromptRegistration) async throws -> PromptVersionInfo {
        do {
            try MLflowFilter.checkName(request.prompt, kind: "prompt")
            let hash = PromptContent.hash(template: request.template, config: request.config)
            try await ensureRegisteredModel(request.prompt, prompt: true)
            // Content-addressed: an existing version with the same hash is the answer, even
            // when it is not the latest.
            let byHash = "name = '\(request.prompt)' AND \(MLflowFilter.isPrompt) AND tags.`\(MLflowTags.contentDigest)` = '\(hash)'"
            if let earlier = try await searchVersions(filter: byHash).first { return MLflowPromptTags.info(earlier) }
            let body: JSONValue = .object([
                "name": .string(request.prompt),
                "source": .string(MLflowPromptTags.source),
                "description": .string(request.tags["trueup.commit"].map { "trueup: commit \($0)" } ?? "trueup"),
                "tags": MLflowTags.json(MLflowPromptTags.tags(template: request.template, config: request.config, hash: hash).merging(request.tags) { own, _ in own }),
            ])
            return MLflowPromptTags.info(try await createOnce(body: body, path: "model-versions/create", lookup: byHash))
        } catch let error as MLflowError {
            throw error.backendError
        }
    }

    public func setPromptAlias(prompt: String, alias: String, version: String) async throws {
        try await setAlias(name: prompt, alias: alias, version: version)
    }

    public func deletePromptAlias(prompt: String, alias: String) async throws {
        try await deleteAlias(name: prompt, alias: alias)
    }

    public func tagPromptVersion(prompt: String, version: String, tags: [String: String]) async throws {
        try await tagVersion(name: prompt, version: version, tags: tags)
        do {
            try await MLflowGateRuns(client: client, environment: environment).record(candidate: prompt, version: version, kind: "prompt", tags: tags)
        } catch let error as MLflowError {
            throw error.backendError
        }
    }

    // MARK: - Shared by models and prompts

    func setAlias(name: String, alias: String, version: String) async throws {
        try MLflowAlias.check(alias, on: name)
        do {
            try await client.post("registered-models/alias", .object(["name": .string(name), "alias": .string(alias), "version": .string(version)]))
        } catch let error as MLflowError {
            throw error.backendError
        }
    }

    /// Deleting an alias that is gone (or whose model is gone) succeeds: a retried apply does it again.
    func deleteAlias(name: String, alias: String) async throws {
        do {
            try await client.delete("registered-models/alias", .object(["name": .string(name), "alias": .string(alias)]))
        } catch let error as MLflowError where error.isNotFound {
            return
        } catch let error as MLflowError {
            throw error.backendError
        }
    }

    func tagVersion(name: String, version: String, tags: [String: String]) async throws {
        do {
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
                try await client.post("model-versions/set-tag", .object(["name": .string(name), "version": .string(version), "key": .string(key), "value": .string(value)]))
            }
        } catch let error as MLflowError {
            throw error.backendError
        }
    }
}
