/// The backends of one environment: one per role (DESIGN §7) plus its artifact store. Made by
/// `BackendFactory` (TrueupBackends) from `spec.backends`; the engine uses nothing else.
public struct Backends: Sendable {
    public var registry: any RegistryBackend
    public var jobs: any JobBackend
    public var serving: any ServingBackend
    public var data: any DataBackend
    /// Where job outputs live and how later steps get them.
    public var artifacts: any ArtifactStore

    public init(registry: any RegistryBackend, jobs: any JobBackend, serving: any ServingBackend, data: any DataBackend, artifacts: any ArtifactStore) {
        self.registry = registry
        self.jobs = jobs
        self.serving = serving
        self.data = data
        self.artifacts = artifacts
    }
}
