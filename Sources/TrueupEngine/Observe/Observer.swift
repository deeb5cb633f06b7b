import TrueupCore

/// Asks each backend for the actual state of an environment's resources, one call per role
/// (DESIGN §3: as few requests as the backend allows).
public struct Observer: Sendable {
    public let backends: Backends

    public init(backends: Backends) {
        self.backends = backends
    }

    public func observe(_ environment: DesiredEnvironment, applied: [ResourceID: AppliedResource]) async throws -> ObservedState {
        var models = Set<String>()
        var prompts = Set<String>()
        // Read in place: iterating the values copied each resource, a retain (and a release) of
        // every field, 33,000 times in a large environment.
        let resources = environment.resources.values
        for index in resources.indices {
            switch resources[index].id.kind {
            case .model: models.insert(resources[index].registryName)
            case .prompt: prompts.insert(resources[index].registryName)
            default: break
            }
        }
        for (id, last) in applied {
            let name = last.registryName ?? id.name
            if id.kind == .model { models.insert(name) }
            if id.kind == .prompt { prompts.insert(name) }
        }
        // Promotion checks read the source environment's aliases: same registry, same names.
        async let registry = backends.registry.observe(models: models, prompts: prompts)
        async let datasets = backends.data.observe(environment: environment.name)
        async let runs = backends.jobs.observe(environment: environment.name)
        async let deployments = backends.serving.observe(environment: environment.name)
        var state = ObservedState()
        state.registry = try await registry
        state.datasets = try await datasets
        state.jobRuns = try await runs
        state.deployments = try await deployments
        return state
    }
}
