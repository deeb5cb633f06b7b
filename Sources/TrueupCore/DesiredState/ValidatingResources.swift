// One resource at a time: nulls removed, variables substituted, the kind's schema, then the
// spec decoded into its type (`TypedSpec`) and the kind's own rules checked.
extension BuildRun {
    /// One resource after nulls, variables, its schema, its decoding into its kind's type and
    /// the rules no schema can express; nil (with its errors reported) when it is invalid. And
    /// whether a variable was substituted into it, which makes it this environment's own.
    mutating func validateResource(_ index: Int, of environment: borrowing Prepared) -> (Resource?, substituted: Bool) {
        validate(environment.declared[index], environment: environment.name, variables: environment.variables, settings: environment.settings)
    }

    var errorCount: Int { diagnostics.lazy.filter { $0.severity == .error }.count }

    /// The resource, or nil (with its errors reported) when it is invalid; and whether a
    /// variable was substituted into it. When none was, the same declaration validates alike in
    /// every environment that serves the same way (see `DesiredStateBuilder.SharedValidation`).
    mutating func validate(_ declared: borrowing DesiredStateBuilder.Declared, environment: String, variables: Variables, settings: EnvironmentSettings) -> (Resource?, substituted: Bool) {
        var node = Overlay.removingNulls(declared.node)
        var substituted = false
        // Variables apply to values under spec and metadata labels/annotations, never to identity.
        if case .mapping(var entries) = node.value {
            for i in entries.indices {
                switch entries[i].key {
                case "spec":
                    if let changed = variables.substituteIfAny(in: entries[i].value, path: FieldPath([.key("spec")]), diagnostics: &diagnostics) {
                        entries[i].value = changed
                        substituted = true
                    }
                case "metadata":
                    if case .mapping(var meta) = entries[i].value.value {
                        var metaChanged = false
                        for j in meta.indices where meta[j].key == "labels" || meta[j].key == "annotations" {
                            if let changed = variables.substituteIfAny(in: meta[j].value, path: FieldPath([.key("metadata"), .key(meta[j].key)]), diagnostics: &diagnostics) {
                                meta[j].value = changed
                                metaChanged = true
                            }
                        }
                        if metaChanged {
                            entries[i].value = Node(.mapping(meta), at: entries[i].value.location)
                            substituted = true
                        }
                    }
                default: break
                }
            }
            if substituted { node = Node(.mapping(entries), at: node.location) }
        }
        return (validateSubstituted(node, declared, environment: environment, settings: settings), substituted)
    }

    /// The schema, then the spec decoded once into its kind's type, whose rules are checked and
    /// whose references become the resource's dependencies.
    mutating func validateSubstituted(_ node: Node, _ declared: borrowing DesiredStateBuilder.Declared, environment: String, settings: EnvironmentSettings) -> Resource? {
        let (value, problems) = SchemaValidator.validate(node, against: builder.schemas[declared.id.kind]!, environment: environment)
        diagnostics += problems
        guard let value else { return nil }
        let spec = value["spec"] ?? .object([:])
        let typed = TypedSpec(kind: declared.id.kind, spec: spec)
        let before = errorCount
        ruleTarget = RuleTarget(id: declared.id, environment: environment, node: node, declaredAt: declared.declaredAt, serving: settings.serving.type)
        typed.checkRules(&self)
        ruleTarget = nil
        guard errorCount == before else { return nil }
        // The resource keeps the declared tree, not `node`: only locations are read from it later,
        // and substituting a variable or removing a null moves none. The declared tree is shared
        // with the parsed file, while `node` was rebuilt wherever a variable was substituted (the
        // labels of most resources), so keeping it cost a tree per resource to free at the end of
        // the run, on one core; dropped here, it is freed by the thread that built it.
        return Resource(
            id: declared.id, environment: environment, spec: spec, typed: typed, node: declared.node, declaredAt: declared.declaredAt, dependencies: Self.dependencies(typed))
    }

    /// The resources `typed` refers to, sorted, each once. Sorted, then repeats dropped: a
    /// resource has a handful of references, too few to be worth hashing into a set.
    static func dependencies(_ typed: TypedSpec) -> [ResourceID] {
        var refs = typed.references.map(\.id)
        refs.sort()
        var unique: [ResourceID] = []
        unique.reserveCapacity(refs.count)
        for ref in refs where unique.last != ref { unique.append(ref) }
        return unique
    }
}
