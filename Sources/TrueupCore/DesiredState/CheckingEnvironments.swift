// `validate` keeps no resource (`Keeping.checksOnly`), so environments are checked one after the
// other and each one's resources are released before the next is validated: peak memory holds
// one environment's resources, not every environment's. A declaration shared by several
// environments is still validated once (see `SharedValidation`): its result is carried to the
// next environments that have it and dropped after the last. What is reported is what
// `buildEach` reports, in the same order.

extension DesiredStateBuilder {
    /// Every environment named checked as `buildEach` checks it; the valid ones come back with
    /// their settings only (no resources, no order).
    func checkEach(_ names: [String], run: inout BuildRun, all: Set<String>) -> [String: DesiredEnvironment] {
        var plans: [BuildRun.Plan] = []
        for name in names {
            if let plan = run.planEnvironment(name, all: all) { plans.append(plan) }
        }
        let prepared = BuildRun.merge(plans)
        // Each declaration's group (declarations that validate alike, see `SharedValidation`) as
        // a number, so that the loop below indexes arrays instead of hashing keys.
        var groupOf: [SharedValidation: Int] = [:]
        var usesLeft: [Int] = []
        let groups = prepared.map { environment in
            environment.declared.map { declared in
                let key = SharedValidation(declaredAt: declared.declaredAt, serving: declared.id.kind == .deployment ? environment.settings.serving.type : nil)
                if let group = groupOf[key] {
                    usesLeft[group] += 1
                    return group
                }
                groupOf[key] = usesLeft.count
                usesLeft.append(1)
                return usesLeft.count - 1
            }
        }
        groupOf = [:]
        var carried = [(result: Validated, environment: String)?](repeating: nil, count: usesLeft.count)
        var environments: [String: DesiredEnvironment] = [:]
        for e in prepared.indices {
            let environment = prepared[e]
            let fresh = environment.declared.indices.filter { carried[groups[e][$0]] == nil }
            var validated = validate(fresh, of: environment, collected: run)
            var results = [Validated?](repeating: nil, count: environment.declared.count)
            for index in fresh.reversed() {
                guard let (result, substituted) = validated.popLast()! else { preconditionFailure("a resource of \(environment.name) was never validated") }
                // Carried when a later environment declares it too (usesLeft counts this one).
                if !substituted, usesLeft[groups[e][index]] > 1 { carried[groups[e][index]] = (result, environment.name) }
                results[index] = result
            }
            for index in environment.declared.indices where results[index] == nil {
                guard let (result, from) = carried[groups[e][index]] else { continue }
                results[index] = result.moved(from: from, to: environment.name)
            }
            for group in groups[e] {
                usesLeft[group] -= 1
                if usesLeft[group] == 0 { carried[group] = nil }
            }
            let (checked, diagnostics) = Self.finish(environment, results: consume results, lookups: run.lookups, ordering: false)
            run.diagnostics += diagnostics
            if var checked {
                checked.resources = [:]
                checked.order = []
                environments[environment.name] = checked
            }
        }
        return environments
    }

    /// Declarations `indices` of `environment` validated, on every core when there are many:
    /// each result with whether a variable was substituted into it, in the order of `indices`.
    private func validate(_ indices: [Int], of environment: BuildRun.Prepared, collected: BuildRun) -> [(Validated, substituted: Bool)?] {
        let workers = min(SnapshotWork.availableCores, 8, indices.count / Self.resourcesPerWorker)
        guard workers > 1, let opener = snapshot.opener else {
            var run = BuildRun(builder: self, folders: collected.folders, lookups: collected.lookups)
            return indices.map { Self.checkOnly($0, of: environment, with: &run) }
        }
        let folders = collected.folders, root = self.root, schemas = self.schemas, lookups = collected.lookups
        var done = SnapshotWork.map(count: indices.count, workers: workers, batch: Self.batch, opener: opener, state: { own in
            BuildRun(builder: DesiredStateBuilder(snapshot: own, root: root, schemas: schemas), folders: folders, lookups: lookups)
        }) { run, position in Self.checkOnly(indices[position], of: environment, with: &run) }
        // A position no thread could take (its snapshot failed to open) is validated here.
        var run = BuildRun(builder: self, folders: collected.folders, lookups: collected.lookups)
        for position in done.indices where done[position] == nil {
            done[position] = Self.checkOnly(indices[position], of: environment, with: &run)
        }
        return done
    }

    /// Declaration `index` validated, keeping only what the environment's checks read.
    private static func checkOnly(_ index: Int, of environment: BuildRun.Prepared, with run: inout BuildRun) -> (Validated, substituted: Bool) {
        let (validated, substituted) = validate(index, of: environment, with: &run)
        return (validated.keepingChecksOnly(), substituted)
    }
}
