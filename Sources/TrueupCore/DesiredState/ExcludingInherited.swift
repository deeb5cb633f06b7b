// `spec.exclude`: an environment leaves out resources it inherits (say, the training jobs of an
// environment that serves a promoted version). Each entry must name an inherited resource; the
// environment's own folder cannot both declare and exclude one. Exclusion is the environment's own
// setting: what extends the environment still inherits everything it declares or inherits.
extension BuildRun {
    /// Reports each entry of `spec.exclude` that names no inherited resource, or one the
    /// environment's own folder declares. `inherited` are the identities inherited through extends.
    mutating func checkExcluded(_ settings: EnvironmentSettings, folder: DesiredStateBuilder.Folder, environmentNode: Node, inherited: Set<ResourceID>) {
        let items = environmentNode["spec"]?["exclude"]?.items ?? []
        let bases = settings.extends.isEmpty ? "nothing (spec.extends is empty)" : settings.extends.joined(separator: ", ")
        for (i, item) in items.enumerated() {
            guard let text = item.scalarText, let id = ResourceID(parsing: text) else { continue }
            let field = "spec.exclude[\(i)]"
            if let own = folder.resources[id] {
                diagnostics.append(Diagnostic(at: item.location, "\(id) is declared in this environment's own folder (\(own.declaredAt[0])): spec.exclude leaves out only inherited resources; remove that declaration or this entry", field: field))
            } else if !inherited.contains(id) {
                let sameKind = inherited.filter { $0.kind == id.kind }.map(\.name).sorted()
                let hint = SchemaValidator.closest(to: id.name, in: sameKind).map { "did you mean '\(id.kind.rawValue)/\($0)'?" }
                    ?? "remove this entry (inherited \(id.kind.rawValue)s: \(sameKind.isEmpty ? "none" : sameKind.joined(separator: ", ")))"
                diagnostics.append(Diagnostic(at: item.location, "\(id) is not inherited from \(bases), so there is nothing to exclude: \(hint)", field: field))
            }
        }
    }

    /// The identities `resources` inherits through extends (not the folder's own).
    static func inheritedIdentities(_ resources: Plan.Resources, own: [ResourceID: DesiredStateBuilder.Declared]) -> Set<ResourceID> {
        switch resources {
        case .merged(let effective):
            // The folder's own declarations are merged in; an identity declared only there is not inherited.
            return Set(effective.declared.filter { declared in
                guard let mine = own[declared.id] else { return true }
                return declared.declaredAt.count > mine.declaredAt.count
            }.map(\.id))
        case .toMerge(let inherited, _):
            return Set(inherited.flatMap { $0.declared.map(\.id) })
        }
    }
}
