// `validate` keeps no resource (`Keeping.checksOnly`), so environments are checked one after the
// other and each one's resources are released before the next is validated: peak memory holds
// one environment's resources, not every environment's. An environment folder that no other
// environment extends is read only when its environment is checked, and its parsed files are
// released with its resources (see `DesiredStateBuilder.LaterFolders`): what stays is what
// several environments share, the bases. A declaration shared by several environments is still
// validated once (see `SharedValidation`): its result is carried to the next environments that
// have it. What is reported is what `buildEach` reports, in the same order.

extension DesiredStateBuilder {
    /// Every environment named checked as `buildEach` checks it; the valid ones come back with
    /// their settings only (no resources, no order). `waiting` are folders of `later` not read
    /// yet: each is read when its environment's turn comes (or at the end, for its diagnostics).
    func checkEach(_ names: [String], run: inout BuildRun, all: Set<String>, waiting: Set<String>, later: LaterFolders?) -> [String: DesiredEnvironment] {
        var waiting = waiting
        // Results that other environments may have too, by what makes them alike. A result is
        // not carried when a document of a folder read late went into it: no other environment
        // has that folder.
        var carried: [SharedValidation: (result: Validated, environment: String)] = [:]
        var environments: [String: DesiredEnvironment] = [:]
        for name in names {
            var ownFiles = Set<SourceFileID>()
            let readLate = waiting.remove(name) != nil
            if readLate, let later { ownFiles = run.collectLater(name, from: later) }
            defer { if readLate { run.folders[name]?.resources = [:] } }
            guard let plan = run.planEnvironment(name, all: all) else { continue }
            let environment = BuildRun.merge([plan])[0]
            let keys = environment.declared.map { declared in
                SharedValidation(declaredAt: declared.declaredAt, serving: declared.id.kind == .deployment ? environment.settings.serving.type : nil)
            }
            let fresh = environment.declared.indices.filter { carried[keys[$0]] == nil }
            var validated = validate(fresh, of: environment, collected: run)
            var results = [Validated?](repeating: nil, count: environment.declared.count)
            for index in fresh.reversed() {
                guard let (result, substituted) = validated.popLast()! else { preconditionFailure("a resource of \(environment.name) was never validated") }
                // A folder's own declarations are merged last, so the last document tells.
                if !substituted, !ownFiles.contains(environment.declared[index].declaredAt[environment.declared[index].declaredAt.count - 1].fileID) {
                    carried[keys[index]] = (result, environment.name)
                }
                results[index] = result
            }
            for index in environment.declared.indices where results[index] == nil {
                guard let (result, from) = carried[keys[index]] else { continue }
                results[index] = result.moved(from: from, to: environment.name)
            }
            let (checked, diagnostics) = Self.finishChecking(environment, results: consume results, lookups: run.lookups)
            run.diagnostics += diagnostics
            if let checked { environments[environment.name] = checked }
        }
        // Folders of environments not checked (not chosen, or found invalid before their turn)
        // are still read: what is wrong in their files is reported as a whole build reports it.
        for name in waiting.sorted() {
            if let later { run.collectLater(name, from: later) }
            run.folders[name]?.resources = [:]
        }
        return environments
    }

    /// What `finish` finds of an environment, which comes back without resources or order. The
    /// common case (every resource valid, every reference resolved, no cycle) is told over dense
    /// numbers, without a dictionary of every resource or sorting a single identity: at 33,000
    /// resources that was most of what an environment's checks did on one core. Anything else
    /// goes through `finish`, whose messages it then gives.
    static func finishChecking(_ environment: BuildRun.Prepared, results: consuming [Validated?], lookups: RevisionLookups) -> (DesiredEnvironment?, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        var number: [ResourceID: Int] = [:]
        number.reserveCapacity(results.count)
        var deployments: [ResourceID: Resource] = [:]
        var valid = true
        // From the last, as `finish` takes them, so that the diagnostics come in the same order.
        for index in results.indices.reversed() {
            guard let result = results[index] else { preconditionFailure("a resource of \(environment.name) was never validated") }
            diagnostics += result.diagnostics
            guard let resource = result.resource else { valid = false; continue }
            number[resource.id] = index
            if resource.id.kind == .deployment { deployments[resource.id] = resource }
        }
        guard valid else { return (nil, diagnostics) }
        var edges = DependencyGraph.DenseEdges()
        edges.reserveCapacity(nodes: results.count, edges: 2 * results.count)
        var resolved = true
        for index in results.indices {
            edges.addNode(dependencies: results[index]!.resource!.dependencies.lazy.compactMap { dependency in
                let target = number[dependency]
                if target == nil { resolved = false }
                return target
            })
        }
        // Serving rules read the deployments alone.
        let serving = ServingCapabilities.check(deployments, serving: environment.settings.serving.type, environment: environment.name)
        guard resolved, serving.isEmpty, edges.isAcyclic else {
            var (checked, found) = finish(environment, results: results, lookups: lookups, ordering: false)
            checked?.resources = [:]
            return (checked, found)
        }
        return (DesiredEnvironment(settings: environment.settings, resources: [:], order: [], definedAt: environment.definedAt, lookups: lookups), diagnostics)
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
