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
        var carried: [SharedValidation: (result: Checked, environment: String)] = [:]
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
            let declared = environment.declared
            var validated = validate(fresh, of: environment, collected: run) { validated, index in Checked(validated, id: declared[index].id) }
            var results = [Checked?](repeating: nil, count: environment.declared.count)
            for index in fresh.reversed() {
                guard let (result, substituted) = validated.popLast()! else { preconditionFailure("a resource of \(environment.name) was never validated") }
                // A folder's own declarations are merged last, so the last document tells.
                if !substituted, !ownFiles.contains(declared[index].declaredAt.last!.fileID) {
                    carried[keys[index]] = (result, environment.name)
                }
                results[index] = result
            }
            for index in environment.declared.indices where results[index] == nil {
                guard let (result, from) = carried[keys[index]] else { continue }
                results[index] = result.moved(from: from, to: environment.name)
            }
            let (checked, diagnostics) = finishChecking(environment, results: consume results, collected: run)
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

    /// What validate keeps of a resource once it is validated: what its environment's checks
    /// read. The resource itself (typed spec, merged document) is released by the thread that
    /// validated it, on every core, instead of by this one after the checks; only a
    /// deployment's is kept, for the serving rules.
    struct Checked: Sendable {
        var id: ResourceID
        var valid: Bool
        var dependencies: [ResourceID]
        var diagnostics: [Diagnostic]
        var deployment: Resource?

        init(_ validated: consuming Validated, id: ResourceID) {
            self.id = id
            valid = validated.resource != nil
            dependencies = validated.resource?.dependencies ?? []
            diagnostics = validated.diagnostics
            deployment = id.kind == .deployment ? validated.keepingChecksOnly().resource : nil
        }

        /// The same result for the same declaration in another environment.
        func moved(from environment: String, to other: String) -> Checked {
            var copy = self
            copy.deployment?.environment = other
            copy.diagnostics = diagnostics.moved(from: environment, to: other)
            return copy
        }
    }

    /// What `finish` finds of an environment, which comes back without resources or order. The
    /// common case (every resource valid, every reference resolved, no cycle) is told over dense
    /// numbers, without a dictionary of every resource or sorting a single identity: at 33,000
    /// resources that was most of what an environment's checks did on one core. Anything else
    /// validates the environment again, keeping its resources, for `finish` to give its messages.
    func finishChecking(_ environment: BuildRun.Prepared, results: consuming [Checked?], collected run: BuildRun) -> (DesiredEnvironment?, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        var number: [ResourceID: Int] = [:]
        number.reserveCapacity(results.count)
        var deployments: [ResourceID: Resource] = [:]
        var valid = true
        // From the last, as `finish` takes them, so that the diagnostics come in the same order.
        for index in results.indices.reversed() {
            guard results[index] != nil else { preconditionFailure("a resource of \(environment.name) was never validated") }
            diagnostics += results[index]!.diagnostics
            guard results[index]!.valid else { valid = false; continue }
            number[results[index]!.id] = index
            if let deployment = results[index]!.deployment { deployments[deployment.id] = deployment }
        }
        guard valid else { return (nil, diagnostics) }
        var edges = DependencyGraph.DenseEdges()
        edges.reserveCapacity(nodes: results.count, edges: 2 * results.count)
        var resolved = true
        for index in results.indices {
            edges.addNode(dependencies: results[index]!.dependencies.lazy.compactMap { dependency in
                let target = number[dependency]
                if target == nil { resolved = false }
                return target
            })
        }
        // Serving rules read the deployments alone.
        let serving = ServingCapabilities.check(deployments, serving: environment.settings.serving.type, environment: environment.name)
        guard resolved, serving.isEmpty, edges.isAcyclic else {
            let all = validate(Array(environment.declared.indices), of: environment, collected: run) { validated, _ in validated.keepingChecksOnly() }
            var (checked, found) = Self.finish(environment, results: all.map { $0?.0 }, lookups: run.lookups, ordering: false)
            checked?.resources = [:]
            return (checked, found)
        }
        return (DesiredEnvironment(settings: environment.settings, resources: [:], order: [], definedAt: environment.definedAt, lookups: run.lookups), diagnostics)
    }

    /// Declarations `indices` of `environment` validated, on every core when there are many:
    /// what `keep` keeps of each result, with whether a variable was substituted into it, in the
    /// order of `indices`. `keep` runs on the thread that validated the declaration.
    private func validate<Kept: Sendable>(_ indices: [Int], of environment: BuildRun.Prepared, collected: BuildRun,
                                          keep: @escaping @Sendable (consuming Validated, _ index: Int) -> Kept) -> [(Kept, substituted: Bool)?] {
        @Sendable func one(_ index: Int, with run: inout BuildRun) -> (Kept, substituted: Bool) {
            let (validated, substituted) = Self.validate(index, of: environment, with: &run)
            return (keep(validated, index), substituted)
        }
        let workers = min(SnapshotWork.availableCores, 8, indices.count / Self.resourcesPerWorker)
        guard workers > 1, let opener = snapshot.opener else {
            var run = BuildRun(builder: self, folders: collected.folders, lookups: collected.lookups)
            return indices.map { one($0, with: &run) }
        }
        let folders = collected.folders, root = self.root, schemas = self.schemas, lookups = collected.lookups
        var done = SnapshotWork.map(count: indices.count, workers: workers, batch: Self.batch, opener: opener, caller: snapshot, state: { own in
            BuildRun(builder: DesiredStateBuilder(snapshot: own, root: root, schemas: schemas), folders: folders, lookups: lookups)
        }) { run, position in one(indices[position], with: &run) }
        // A position no thread could take (its snapshot failed to open) is validated here.
        var run = BuildRun(builder: self, folders: collected.folders, lookups: collected.lookups)
        for position in done.indices where done[position] == nil {
            done[position] = one(indices[position], with: &run)
        }
        return done
    }
}
