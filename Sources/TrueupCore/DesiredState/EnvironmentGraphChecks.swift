/// What an environment needs once each of its resources is valid: every reference names one of
/// its resources, and the references form no cycle. Needs no snapshot, so environments can be
/// checked on several threads at once.
struct EnvironmentGraphChecks {
    /// Only errors: a reference problem is never a warning.
    private(set) var diagnostics: [Diagnostic] = []

    /// References and the dependency graph, once every resource of the environment is valid.
    /// Without `ordering`, the environment comes back without its order (`validate` needs only to
    /// know that there is no cycle).
    /// `listed` are the resources that need others, with those others (see `DependencyGraph.Dependencies`).
    mutating func finish(_ environment: BuildRun.Prepared, resources: [ResourceID: Resource], listed: [DependencyGraph.Dependencies],
                         lookups: RevisionLookups, ordering: Bool = true) -> DesiredEnvironment? {
        guard ordering else { return finishUnordered(environment, resources: resources, listed: listed, lookups: lookups) }
        let name = environment.name
        let graph = DependencyGraph(resources: resources, listed: listed)
        guard checkReferencesAndServing(environment, resources, refersOutside: graph.refersOutside) else { return nil }
        let (order, levels) = graph.topologicalOrderAndLevels()
        // The order leaves out exactly the resources on a cycle and those that need one: the
        // cycles are looked for only then.
        if order.count < resources.count { reportCycles(graph.cycles(), resources: resources, environment: name) }
        guard diagnostics.isEmpty else { return nil }
        return DesiredEnvironment(settings: environment.settings, resources: resources, order: order, levels: levels, definedAt: environment.definedAt, lookups: lookups)
    }

    /// The same checks for an environment that comes back without its order (`validate` needs
    /// only to know that there is no cycle): the identities are sorted, for the messages, only
    /// when there is one.
    private mutating func finishUnordered(_ environment: BuildRun.Prepared, resources: [ResourceID: Resource], listed: [DependencyGraph.Dependencies],
                                          lookups: RevisionLookups) -> DesiredEnvironment? {
        let name = environment.name
        // `index(forKey:)`, not the subscript: that would copy each resource it finds.
        let refersOutside = listed.contains { $0.on.contains { resources.index(forKey: $0) == nil } }
        guard checkReferencesAndServing(environment, resources, refersOutside: refersOutside) else { return nil }
        if !DependencyGraph.isAcyclic(listed) {
            reportCycles(DependencyGraph(resources: resources, listed: listed).cycles(), resources: resources, environment: name)
            return nil
        }
        return DesiredEnvironment(settings: environment.settings, resources: resources, order: [], definedAt: environment.definedAt, lookups: lookups)
    }

    /// References (sorted out for messages only when one does not resolve, which is rare) and
    /// what the serving backend can do; whether the environment passed both.
    private mutating func checkReferencesAndServing(_ environment: BuildRun.Prepared, _ resources: [ResourceID: Resource], refersOutside: Bool) -> Bool {
        if refersOutside {
            checkReferences(resources, environment: environment.name, excluded: Set(environment.settings.exclude))
        }
        diagnostics += ServingCapabilities.check(resources, serving: environment.settings.serving.type, environment: environment.name)
        return diagnostics.isEmpty
    }

    private mutating func reportCycles(_ cycles: [[ResourceID]], resources: [ResourceID: Resource], environment name: String) {
        for cycle in cycles {
            // Point at the reference that leaves the cycle's first member, where a fix can start.
            let first = resources[cycle[0]]!
            let field = referenceField(of: first, to: cycle[1])
            diagnostics.append(Diagnostic(at: first.location(of: FieldPath.parse(field)), "dependency cycle: \(cycle.map(\.description).joined(separator: " -> ")): break it by removing one of these references", field: field, environment: name))
        }
    }

    /// Dangling references: every edge must name a resource of the environment.
    private mutating func checkReferences(_ resources: [ResourceID: Resource], environment: String, excluded: Set<ResourceID>) {
        for id in resources.keys.sorted() {
            let resource = resources[id]!
            for dep in resource.dependencies where resources[dep] == nil {
                let field = referenceField(of: resource, to: dep)
                if excluded.contains(dep) {
                    fail(resource, field, "refers to \(dep), which spec.exclude leaves out of this environment: exclude \(resource.id) too, or remove \(dep) from spec.exclude")
                    continue
                }
                let candidates = resources.keys.filter { $0.kind == dep.kind }.map(\.name).sorted()
                let hint = SchemaValidator.closest(to: dep.name, in: candidates).map { "did you mean '\($0)'?" }
                    ?? "define \(dep) in this environment or its bases, or fix the name"
                // The environment is named in the diagnostic's context, not in the message, so the same
                // broken reference in a shared base is one line naming every environment it breaks.
                fail(resource, field, "refers to \(dep), which is not defined in this environment: \(hint)")
            }
        }
    }

    private func referenceField(of resource: Resource, to dep: ResourceID) -> String {
        resource.typed.references.first { $0.id == dep }?.field ?? "spec"
    }

    private mutating func fail(_ resource: Resource, _ path: String, _ message: String) {
        diagnostics.append(Diagnostic(at: resource.location(of: FieldPath.parse(path)), "\(resource.id): \(message)", field: path, environment: resource.environment))
    }
}
