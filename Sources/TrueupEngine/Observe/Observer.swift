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
        for resource in environment.resources.values {
            if resource.id.kind == .model { models.insert(resource.registryName) }
            if resource.id.kind == .prompt { prompts.insert(resource.registryName) }
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
