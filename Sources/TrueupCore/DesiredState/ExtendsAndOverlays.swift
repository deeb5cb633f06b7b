// An environment's resources: what it extends (folders, transitively, in `extends` order) merged
// underneath its own declarations, deep merge per identity (see `Overlay`). Each merged
// declaration keeps where each of its documents was (`declaredAt`), so that a rule broken by an
// overlay can point at the overlay.
extension BuildRun {
    /// An environment whose settings are valid and whose resources are merged, ready to validate.
    struct Prepared: Sendable {
        var name: String
        var settings: EnvironmentSettings
        var definedAt: SourceLocation
        var declared: [DesiredStateBuilder.Declared]
        var variables: Variables
    }

    /// An environment whose settings are valid and whose extends resolved: what merging its
    /// resources needs. Planning reports every problem, on one thread; merging (most of the work:
    /// a thousand declarations over the inherited ones) reports none, and runs on every core.
    struct Plan {
        var name: String
        var settings: EnvironmentSettings
        var definedAt: SourceLocation
        var variables: Variables
        var resources: Resources

        enum Resources {
            /// Already merged: the environment is also extended by another, which merged it first.
            case merged(Effective)
            /// The inherited resources, in `extends` order, and the folder's own, to merge.
            case toMerge(inherited: [Effective], own: [ResourceID: DesiredStateBuilder.Declared])
        }
    }

    /// Settings and extends of one environment; nil (with its errors reported) when they are invalid.
    mutating func planEnvironment(_ name: String, all environmentNames: Set<String>) -> Plan? {
        guard let folder = folders[name], let envNode = folder.environment else { return nil }
        let errorsBefore = errorCount
        guard let settings = environmentSettings(folder: folder, node: envNode, all: environmentNames) else { return nil }
        if folder.broken { return nil }

        let resources: Plan.Resources
        if effectiveCache[name] != nil || isExtendedByAnotherEnvironment(name) {
            // Merged here, and cached, so that what extends it finds it (and its problems are found once).
            var visiting: [String] = []
            guard let effective = effectiveResources(name, visiting: &visiting, extendsFrom: envNode) else { return nil }
            resources = .merged(effective)
        } else {
            var visiting = [name]
            guard let inherited = inheritedResources(of: folder, visiting: &visiting, extendsFrom: envNode) else { return nil }
            resources = .toMerge(inherited: inherited, own: folder.resources)
        }
        if !settings.exclude.isEmpty {
            checkExcluded(settings, folder: folder, environmentNode: envNode, inherited: Self.inheritedIdentities(resources, own: folder.resources))
        }
        guard errorCount == errorsBefore else { return nil }
        let variables = Variables(values: settings.variables, environment: name, commit: builder.snapshot.revision.commit)
        return Plan(name: name, settings: settings, definedAt: envNode.location, variables: variables, resources: resources)
    }

    /// Whether an environment folder is named in another environment's `spec.extends` (bases
    /// extend nothing, so only environments can).
    func isExtendedByAnotherEnvironment(_ name: String) -> Bool {
        folders.values.contains { folder in
            folder.name != name && (folder.environment?["spec"]?["extends"]?.items ?? []).contains { $0.scalarText == name }
        }
    }

    /// Each planned environment's resources merged over what it inherits: on every core when
    /// there are many, since environments do not share what is merged into them.
    static func merge(_ plans: [Plan]) -> [Prepared] {
        @Sendable func prepare(_ plan: Plan) -> Prepared {
            let effective: Effective
            switch plan.resources {
            case .merged(let merged): effective = merged
            case .toMerge(let inherited, let own): effective = merging(inherited, own: own)
            }
            var declared = effective.declared
            if !plan.settings.exclude.isEmpty {
                let excluded = Set(plan.settings.exclude)
                declared.removeAll { excluded.contains($0.id) }
            }
            return Prepared(name: plan.name, settings: plan.settings, definedAt: plan.definedAt, declared: declared, variables: plan.variables)
        }
        let declarations = plans.reduce(0) { total, plan in
            guard case .toMerge(let inherited, let own) = plan.resources else { return total }
            return total + own.count + inherited.reduce(0) { $0 + $1.declared.count }
        }
        guard plans.count > 1, declarations >= Self.documentsForParallelCollect else { return plans.map(prepare) }
        return EveryCore.map(plans.count) { prepare(plans[$0]) }
    }


    /// A folder's resources with everything it extends merged underneath.
    ///
    /// Kept in the order they were first met rather than sorted: what is built from them is
    /// sorted where it is shown (diagnostics, the graph's order), and sorting a thousand
    /// identities per environment here was a fifth of the work done on one thread between
    /// parsing and validating.
    struct Effective {
        private(set) var declared: [DesiredStateBuilder.Declared] = []
        var position: [ResourceID: Int] = [:]

        /// Adds a declaration, merging it over the one of the same identity already there.
        mutating func add(_ declaration: DesiredStateBuilder.Declared) {
            if let index = position[declaration.id] {
                let existing = declared[index]
                declared[index] = .init(id: existing.id, node: Overlay.merge(existing.node, declaration.node),
                                        declaredAt: existing.declaredAt + declaration.declaredAt)
            } else {
                position[declaration.id] = declared.count
                declared.append(declaration)
            }
        }

        mutating func reserveCapacity(_ count: Int) {
            declared.reserveCapacity(count)
            position.reserveCapacity(count)
        }
    }

    /// A folder's resources with everything it extends merged underneath, or nil on error.
    mutating func effectiveResources(_ name: String, visiting: inout [String], extendsFrom envNode: Node?) -> Effective? {
        if let cached = effectiveCache[name] { return cached }
        guard let folder = folders[name] else { return nil }
        visiting.append(name)
        defer { visiting.removeLast() }
        let result = inheritedResources(of: folder, visiting: &visiting, extendsFrom: envNode).map { Self.merging($0, own: folder.resources) }
        effectiveCache[name] = .some(result)
        return result
    }

    /// The effective resources of each folder `folder` extends, in `extends` order, or nil (with
    /// the problems reported) when one cannot be had. `visiting` ends with `folder`'s name.
    mutating func inheritedResources(of folder: DesiredStateBuilder.Folder, visiting: inout [String], extendsFrom envNode: Node?) -> [Effective]? {
        var inherited: [Effective] = []
        var ok = !folder.broken
        let extendsNode = (envNode ?? folder.environment)?["spec"]?["extends"]
        for (i, item) in (extendsNode?.items ?? []).enumerated() {
            guard let parent = item.scalarText else { continue }
            let field = "spec.extends[\(i)]"
            if let start = visiting.firstIndex(of: parent) {
                let cycle = (visiting[start...] + [parent]).joined(separator: " -> ")
                diagnostics.append(Diagnostic(at: item.location, "extends cycle: \(cycle): remove one of these extends", field: field))
                ok = false
                continue
            }
            guard folders[parent] != nil else {
                let known = folders.keys.filter { $0 != folder.name }.sorted()
                let hint = SchemaValidator.closest(to: parent, in: known).map { "did you mean '\($0)'?" } ?? "create \(root)/\(parent)/ or fix the name (folders: \(known.joined(separator: ", ")))"
                diagnostics.append(Diagnostic(at: item.location, "extends unknown folder '\(parent)': \(hint)", field: field))
                ok = false
                continue
            }
            extendedFolders.insert(parent)
            guard let resources = effectiveResources(parent, visiting: &visiting, extendsFrom: nil) else { ok = false; continue }
            inherited.append(resources)
        }
        return ok ? inherited : nil
    }

    /// `own` merged over `inherited`, each inherited folder's over the ones before it.
    static func merging(_ inherited: [Effective], own: [ResourceID: DesiredStateBuilder.Declared]) -> Effective {
        var merged = Effective()
        for resources in inherited {
            if merged.declared.isEmpty {
                merged = resources
            } else {
                for declared in resources.declared { merged.add(declared) }
            }
        }
        merged.reserveCapacity(merged.declared.count + own.count)
        for declared in own.values { merged.add(declared) }
        return merged
    }

    mutating func warnUnusedBases() {
        // A broken folder (say, an environment.yaml without an Environment) already has its error.
        for (name, folder) in folders where folder.environment == nil && !folder.broken && !extendedFolders.contains(name) {
            let location = folder.resources.values.map { $0.declaredAt[0] }.min()
            diagnostics.append(Diagnostic(.warning, at: location, "base '\(name)' is not extended by any environment, so none of its resources is reconciled: add it to an environment's spec.extends or remove it"))
        }
    }
}
