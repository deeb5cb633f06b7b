import Synchronization

// How the steps of a build are run: settings and extends per environment on one thread, merging
// and validating on every core, and what is the same in several environments validated once.

extension DesiredStateBuilder {
    /// What validating one resource found.
    struct Validated: Sendable {
        var resource: Resource?
        var diagnostics: [Diagnostic]

        /// The result as `validate` keeps it (`Keeping.checksOnly`): what the environment's checks
        /// read (identity, typed spec, dependencies, the merged node for locations) without the
        /// spec as JSON, which only planning reads. Dropped by the
        /// thread that validated the resource: at 33,000 resources the JSON alone was a tenth of
        /// the peak memory, and freeing it one environment at a time on one thread took a tenth
        /// of a second each.
        consuming func keepingChecksOnly() -> Validated {
            var slim = self
            if slim.resource != nil {
                slim.resource!.spec = .null
            }
            return slim
        }

        /// The same result for the same declaration in another environment.
        func moved(from environment: String, to other: String) -> Validated {
            var copy = self
            copy.resource?.environment = other
            copy.diagnostics = diagnostics.moved(from: environment, to: other)
            return copy
        }
    }

    /// Assembles the environments named from the collected folders.
    ///
    /// Settings and extends are resolved per environment on the calling thread, and each
    /// environment's overlays merged on every core; the resources of all
    /// environments are then validated on every core when the snapshot can be opened once per
    /// thread (validating resources is most of what remains once files are parsed, and one
    /// environment per thread would leave a core idle whenever there are more environments than
    /// cores); references and the graph follow per environment. Results, and so the order of
    /// diagnostics, are the same as one thread would give.
    func buildEach(_ names: [String], run: inout BuildRun, all: Set<String>) -> [String: DesiredEnvironment] {
        var plans: [BuildRun.Plan] = []
        for name in names {
            if let plan = run.planEnvironment(name, all: all) { plans.append(plan) }
        }
        let prepared = BuildRun.merge(plans)
        let work = prepared.indices.flatMap { e in prepared[e].declared.indices.map { (e, $0) } }
        // Results are moved, never copied: copying thousands of resources costs a retain per field.
        let byEnvironment = validateAll(work, prepared, collected: run)
        // Each environment's resources, references and graph, on every core (they need no snapshot).
        // Consumed, so that each slot's array is the only reference to it: popping from a shared
        // one copied the environment's every resource first.
        let slots = Mutex(consume byEnvironment)
        let jobs = prepared
        let lookups = run.lookups
        let finished = EveryCore.map(jobs.count) { index in
            Self.finish(jobs[index], results: slots.withLock { slots in
                defer { slots[index] = [] }
                return slots[index]
            }, lookups: lookups)
        }
        var environments: [String: DesiredEnvironment] = [:]
        for index in jobs.indices {
            let (environment, diagnostics) = finished[index]
            run.diagnostics += diagnostics
            if let environment { environments[jobs[index].name] = environment }
        }
        return environments
    }

    /// One environment's resources from their validation results (consumed), then its
    /// references and graph: the environment when every resource is valid, and what was found.
    static func finish(_ job: BuildRun.Prepared, results: consuming [Validated?], lookups: RevisionLookups, ordering: Bool = true) -> (DesiredEnvironment?, [Diagnostic]) {
        var results = results
        var diagnostics: [Diagnostic] = []
        var resources: [ResourceID: Resource] = [:]
        resources.reserveCapacity(results.count)
        var listed: [DependencyGraph.Dependencies] = []
        var valid = true
        while var slot = results.popLast() {
            if case .none = slot { preconditionFailure("a resource of \(job.name) was never validated") }
            diagnostics += slot!.diagnostics
            // Read in place and moved into the dictionary, never bound to a name: binding the
            // result, or the resource, to a constant copied it, and a copy retains, and later
            // releases, every field of the resource.
            guard case .some(let id) = slot!.resource?.id else {
                valid = false
                continue
            }
            if !slot!.resource!.dependencies.isEmpty { listed.append(.init(id, on: slot!.resource!.dependencies)) }
            resources[id] = slot!.resource.take()
        }
        var environment: DesiredEnvironment?
        if valid {
            var checks = EnvironmentGraphChecks()
            environment = checks.finish(job, resources: resources, listed: listed, lookups: lookups, ordering: ordering)
            diagnostics += checks.diagnostics
        }
        return (environment, diagnostics)
    }

    /// Declarations that validate alike: the same document with the same overlays (so the same
    /// tree), in environments that serve the same way. Of its environment, validating a resource
    /// reads only the name (which goes into `Resource.environment` and diagnostics), the serving
    /// backend (the rules for a Deployment depend on it) and the variables; a resource into which
    /// a variable was substituted is validated in each environment. A base shared by every
    /// environment is so validated once instead of once per environment.
    struct SharedValidation: Hashable {
        var declaredAt: [SourceLocation]
        /// For Deployments only.
        var serving: EnvironmentSettings.Backend.BackendType?

        /// Hashes where the declaration starts and ends, not every overlay between: keys that
        /// share both are rare and still told apart by `==`, and thousands of keys are hashed
        /// on one thread before validating can start.
        func hash(into hasher: inout Hasher) {
            hasher.combine(declaredAt.count)
            hasher.combine(declaredAt.first)
            if declaredAt.count > 1 { hasher.combine(declaredAt.last) }
            hasher.combine(serving)
        }
    }

    /// The declarations of `work` that validate alike (see `SharedValidation`), by their index
    /// in `work`, each group in `work`'s order. Kept as one flat list filled by counting
    /// (`DependencyGraph.DenseEdges`, a group's members as its edges): an array per group was
    /// an allocation per resource, made and freed on one thread.
    struct ValidationGroups: Sendable {
        private let members: DependencyGraph.DenseEdges

        init(_ work: [(Int, Int)], _ prepared: [BuildRun.Prepared]) {
            // In one environment no two declarations share a document: each is its own group,
            // and no key is hashed (33,000 of them took a hundredth of a second on one thread).
            guard prepared.count > 1 else {
                members = DependencyGraph.DenseEdges(nodes: work.count, edges: work.indices.map { ($0, $0) })
                return
            }
            var groupOf: [SharedValidation: Int] = [:]
            groupOf.reserveCapacity(work.count)
            var membership: [(from: Int, to: Int)] = []
            membership.reserveCapacity(work.count)
            for (index, item) in work.enumerated() {
                let environment = prepared[item.0]
                let declared = environment.declared[item.1]
                let key = SharedValidation(declaredAt: declared.declaredAt, serving: declared.id.kind == .deployment ? environment.settings.serving.type : nil)
                let group = groupOf[key] ?? groupOf.count
                if group == groupOf.count { groupOf[key] = group }
                membership.append((group, index))
            }
            members = DependencyGraph.DenseEdges(nodes: groupOf.count, edges: membership)
        }

        var count: Int { members.count }

        subscript(group: Int) -> ArraySlice<Int> { members[group] }
    }

    /// Validates every (environment, resource) of `work`: the results by environment, each in
    /// the order of its declarations.
    func validateAll(_ work: [(Int, Int)], _ prepared: [BuildRun.Prepared], collected: BuildRun) -> [[Validated?]] {
        let groups = ValidationGroups(work, prepared)
        @Sendable func validate(_ item: (Int, Int), with run: inout BuildRun) -> (Validated, substituted: Bool) {
            Self.validate(item.1, of: prepared[item.0], with: &run)
        }
        // Optional, so that `place` can swap each result into its slot (see there).
        @Sendable func validateGroup(_ group: Int, with run: inout BuildRun) -> [(Int, Validated?)] {
            let members = groups[group]
            let firstMember = members[members.startIndex]
            let (first, substituted) = validate(work[firstMember], with: &run)
            var results: [(Int, Validated?)] = [(firstMember, first)]
            guard members.count > 1 else { return results }
            let firstEnvironment = prepared[work[firstMember].0].name
            for member in members.dropFirst() {
                let name = prepared[work[member].0].name
                results.append((member, substituted ? validate(work[member], with: &run).0 : first.moved(from: firstEnvironment, to: name)))
            }
            return results
        }
        // Straight into each environment's own array: one more array of every resource in
        // between was that many more pages for the kernel to fault in.
        var ordered = prepared.map { [Validated?](repeating: nil, count: $0.declared.count) }
        // Moved out one by one, not copied (see buildEach).
        func place(_ results: consuming [(Int, Validated?)]) {
            var results = results
            // Swapped into its slot: binding the popped pair to constants and assigning the result
            // copied it, a retain (and later a release) of every field of its resource.
            while var pair = results.popLast() {
                let (environment, index) = work[pair.0]
                swap(&ordered[environment][index], &pair.1)
            }
        }
        let workers = min(SnapshotWork.availableCores, 8, groups.count / Self.resourcesPerWorker)
        guard workers > 1, let opener = snapshot.opener else {
            var run = BuildRun(builder: self, folders: collected.folders, lookups: collected.lookups)
            for group in 0..<groups.count { place(validateGroup(group, with: &run)) }
            run.shareCheckedPaths()
            return ordered
        }
        let folders = collected.folders, root = self.root, schemas = self.schemas, lookups = collected.lookups
        // In batches, so that the shared counter is touched rarely and a thread keeps its caches warm.
        var done = SnapshotWork.map(count: groups.count, workers: workers, batch: Self.batch, opener: opener, caller: snapshot, state: { own in
            BuildRun(builder: DesiredStateBuilder(snapshot: own, root: root, schemas: schemas), folders: folders, lookups: lookups)
        }, finish: { run in run.shareCheckedPaths() }) { run, group in validateGroup(group, with: &run) }
        var run = BuildRun(builder: self, folders: collected.folders, lookups: collected.lookups)
        for group in 0..<groups.count { place(done[group].take() ?? validateGroup(group, with: &run)) }
        run.shareCheckedPaths()
        return ordered
    }

    /// Validates declaration `index` of `environment`: the result, with its diagnostics taken
    /// out of `run`, and whether a variable was substituted into it.
    static func validate(_ index: Int, of environment: borrowing BuildRun.Prepared, with run: inout BuildRun) -> (Validated, substituted: Bool) {
        let before = run.diagnostics.count
        let (resource, substituted) = run.validateResource(index, of: environment)
        let found = Array(run.diagnostics[before...])
        run.diagnostics.removeSubrange(before...)
        return (Validated(resource: found.contains { $0.severity == .error } ? nil : resource, diagnostics: found), substituted)
    }

    /// Below this many resources per core, starting threads costs more than it saves.
    static let resourcesPerWorker = 64
    static let batch = 16
}

extension [Diagnostic] {
    /// What the same declaration reports in another environment: its own diagnostics name the
    /// environment they were found in.
    func moved(from environment: String, to other: String) -> [Diagnostic] {
        var moved = self
        for i in moved.indices where moved[i].environment == environment { moved[i].environment = other }
        return moved
    }
}
