import Foundation
import TrueupCore

/// Models and prompts in the SQLite registry. A version made from a job's output is recorded at
/// its artifact's URI (the artifact store keeps the files, content addressed and immutable); a
/// local folder given directly is copied under the state directory; any other URI is kept as is.
public struct LocalRegistry: RegistryBackend {
    let store: LocalBackendStore
    let paths: LocalPaths

    public init(store: LocalBackendStore, paths: LocalPaths) {
        self.store = store
        self.paths = paths
    }

    public func observe(models: Set<String>, prompts: Set<String>) async throws -> RegistryState {
        try store.registryState(models: models, prompts: prompts)
    }

    public func registerModelVersion(_ request: ModelRegistration) async throws -> ModelVersionInfo {
        let key = String(ContentDigest.sha256(request.idempotencyKey).prefix(32))
        var location = request.sourceLocation
        // A local folder is copied in so the version outlives the job's scratch folder; a URI
        // (`artifact: s3://...`) is recorded as is.
        var isDirectory: ObjCBool = false
        if let artifact = request.artifact {
            location = artifact.uri
        } else if !request.sourceLocation.contains("://"), FileManager.default.fileExists(atPath: request.sourceLocation, isDirectory: &isDirectory) {
            location = paths.modelVersion(model: request.model, key: key)
            try LocalFiles.copyAtomically(from: request.sourceLocation, to: location)
        }
        let destination = location
        return try store.registerModelVersion(
            model: request.model, idempotencyKey: request.idempotencyKey, location: { _ in destination },
            source: request.tags["trueup.source"] ?? request.sourceLocation, tags: request.tags, at: Date().timeIntervalSince1970)
    }

    public func setModelAlias(model: String, alias: String, version: String) async throws {
        try store.setAlias(assetType: "model", name: model, alias: alias, version: version, at: Date().timeIntervalSince1970)
    }

    public func deleteModelAlias(model: String, alias: String) async throws {
        try store.deleteAlias(assetType: "model", name: model, alias: alias)
    }

    public func tagModelVersion(model: String, version: String, tags: [String: String]) async throws {
        try store.tagModelVersion(model: model, version: version, tags: tags)
    }

    public func registerPromptVersion(_ request: PromptRegistration) async throws -> PromptVersionInfo {
        let hash = PromptContent.hash(template: request.template, config: request.config)
        return try store.registerPromptVersion(
            prompt: request.prompt, contentHash: hash, template: request.template, config: request.config,
            tags: request.tags, at: Date().timeIntervalSince1970)
    }

    public func setPromptAlias(prompt: String, alias: String, version: String) async throws {
        try store.setAlias(assetType: "prompt", name: prompt, alias: alias, version: version, at: Date().timeIntervalSince1970)
    }

    public func deletePromptAlias(prompt: String, alias: String) async throws {
        try store.deleteAlias(assetType: "prompt", name: prompt, alias: alias)
    }

    public func tagPromptVersion(prompt: String, version: String, tags: [String: String]) async throws {
        try store.tagPromptVersion(prompt: prompt, version: version, tags: tags)
    }
}
