import Foundation
import TrueupCore

// `trueup destroy`: the plan that removes what an environment manages. Deployments are stopped
// and removed, the environment's model and prompt aliases removed; registry versions, datasets
// and their versions, job runs with their outputs, and the run history stay, so an apply
// afterwards creates the environment again without running a job. (Forgetting a dataset's
// current version would make every job reading it look unknown until apply, and gain nothing:
// no process runs for it and its data is never deleted.) A plan like any other, so
// it is shown, confirmed and applied through the same approved-plan path (and refused when the
// actual state moved since it was shown).
extension Planner {
    /// The destroy plan and, for the executor, what is known of each resource.
    public func destroyPlanWithResolutions(now: Double = Date().timeIntervalSince1970) -> (Plan, [ResourceID: Resolution]) {
        var ids = Set(environment.resources.keys).union(applied.keys)
        // What runs or is current in the backends for this environment though no record says so
        // (an apply interrupted before it recorded it) is the environment's too.
        ids.formUnion(observed.deployments.keys.map { ResourceID(.deployment, $0) })
        // Dependents go first: a deployment is stopped before the alias it serves is removed.
        var dependents: [ResourceID: [ResourceID]] = [:]
        for resource in environment.resources.values {
            for dependency in resource.dependencies { dependents[dependency, default: []].append(resource.id) }
        }
        let order = environment.order.reversed().filter(ids.contains) + ids.subtracting(environment.order).sorted()
        var changes: [PlannedChange] = []
        for id in order {
            var change = destroyChange(id)
            if change.action == .delete {
                change.dependsOn = (dependents[id] ?? []).filter(ids.contains).sorted()
            }
            changes.append(change)
        }
        return (Plan(environment: environment.name, commit: commit, createdAt: now,
                     observedFingerprint: Self.fingerprint(changes), changes: changes), [:])
    }

    func destroyChange(_ id: ResourceID) -> PlannedChange {
        let name = environment.name
        let resource = environment.resources[id]
        let last = applied[id]
        func remove(_ before: JSONValue, _ reason: String) -> PlannedChange {
            PlannedChange(resource: id, action: .delete, before: before, after: nil, reasons: [reason])
        }
        let absent = PlannedChange(resource: id, action: .noop, before: nil, after: nil, reasons: ["nothing of it exists in \(name)"])
        switch id.kind {
        case .deployment:
            guard let seen = observed.deployments[id.name] else { return absent }
            let before: JSONValue = .object(["serves": .string(seen.assetVersion), "state": .string(seen.problem == nil ? "serving" : "down"), "endpoint": .string(seen.endpoint)])
            return remove(before, seen.problem == nil ? "destroy: its server at \(seen.endpoint) is stopped and removed"
                                                      : "destroy: its record is removed (its server is already down: \(seen.problem!))")
        case .model, .prompt:
            let registryName = last?.registryName ?? resource?.registryName ?? id.name
            let alias = last?.alias ?? resource?.alias ?? name
            let aliases = id.kind == .model ? observed.registry.models[registryName]?.aliases : observed.registry.prompts[registryName]?.aliases
            guard let version = aliases?[alias] else { return absent }
            let what = id.kind == .model ? "model" : "prompt"
            return remove(.object(["alias": .string(alias), "version": .string(version)]),
                          "destroy: alias '\(alias)' of \(what) \(registryName) is removed; version \(version) and every other version stay in the registry")
        case .dataset:
            return PlannedChange(resource: id, action: .noop, before: last?.summary, after: last?.summary,
                                 reasons: ["destroy keeps datasets: their data and versions are never deleted"])
        case .job, .environment:
            return PlannedChange(resource: id, action: .noop, before: last?.summary, after: last?.summary,
                                 reasons: ["destroy keeps its runs, their outputs and logs (`trueup history --env \(name)`)"])
        }
    }
}
