/// A resource's `spec`, decoded once into its kind's own type after the schema validated it.
///
/// The engine reads fields and their defaults from here; `Resource.spec` (the JSON) stays for what
/// needs the spec as a whole: identity hashes, field-by-field diffs and applied records.
/// Indirect, so that copying a resource (planning copies them often) retains one box instead of
/// every field of every kind.
public indirect enum TypedSpec: Sendable, Hashable {
    case dataset(DatasetSpec)
    case job(JobSpec)
    case model(ModelSpec)
    case prompt(PromptSpec)
    case deployment(DeploymentSpec)

    /// Decodes a spec that the schema of `kind` accepted; a field of the wrong shape (which the
    /// schema rules out) reads as absent. `kind` is one of `ResourceKind.managed`.
    public init(kind: ResourceKind, spec: JSONValue) {
        switch kind {
        case .dataset: self = .dataset(DatasetSpec(spec))
        case .job: self = .job(JobSpec(spec))
        case .model: self = .model(ModelSpec(spec))
        case .prompt: self = .prompt(PromptSpec(spec))
        case .deployment: self = .deployment(DeploymentSpec(spec))
        case .environment: preconditionFailure("an Environment's spec decodes into EnvironmentSettings, not a resource spec")
        }
    }

    /// `spec.dependsOn`, as written (`Kind/name`).
    public var dependsOn: [String] {
        switch self {
        case .dataset(let s): s.dependsOn
        case .job(let s): s.dependsOn
        case .model(let s): s.dependsOn
        case .prompt(let s): s.dependsOn
        case .deployment(let s): s.dependsOn
        }
    }

    /// Every reference to another resource, with the field that makes it, in the order a message
    /// about a reference looks for its field: named fields, gates, inputs, then `dependsOn`.
    public var references: [SpecReference] {
        var found: [SpecReference]
        switch self {
        case .dataset(let s): found = s.references
        case .job(let s): found = s.references
        case .model(let s): found = s.references
        case .prompt(let s): found = s.references
        case .deployment(let s): found = s.references
        }
        for (i, text) in dependsOn.enumerated() {
            if let id = ResourceID(parsing: text) { found.append(SpecReference(id, field: "spec.dependsOn[\(i)]")) }
        }
        return found
    }

    /// The repository paths the spec names (`code`, `path`, `templateFile`), as written.
    public var repositoryPaths: [String] {
        switch self {
        case .dataset(let s): s.path.map { [$0] } ?? []
        case .job(let s): [s.code]
        case .model: []
        case .prompt(let s): s.templateFile.map { [$0] } ?? []
        case .deployment(let s): s.code.map { [$0] } ?? []
        }
    }

    /// `spec.code`: the repository folder a Job or Deployment runs in.
    public var code: String? {
        switch self {
        case .job(let s): s.code
        case .deployment(let s): s.code
        default: nil
        }
    }

    /// Where the rules of the kind are checked; the references become graph edges elsewhere.
    func checkRules<Rules: SpecRuleChecking>(_ rules: inout Rules) {
        switch self {
        case .dataset(let s): s.checkRules(&rules)
        case .job(let s): s.checkRules(&rules)
        case .model(let s): s.checkRules(&rules)
        case .prompt(let s): s.checkRules(&rules)
        case .deployment(let s): s.checkRules(&rules)
        }
        rules.checkDependsOn(dependsOn)
    }
}

/// A reference from one resource to another, and the field that makes it (`spec.fromJob`,
/// `spec.gates[0].job`, ...), for messages that point at it.
public struct SpecReference: Sendable, Hashable {
    public var id: ResourceID
    public var field: String

    public init(_ id: ResourceID, field: String) {
        self.id = id
        self.field = field
    }
}

extension Resource {
    /// The Dataset's spec; nil for another kind.
    public var dataset: DatasetSpec? { if case .dataset(let s) = typed { s } else { nil } }
    public var job: JobSpec? { if case .job(let s) = typed { s } else { nil } }
    public var model: ModelSpec? { if case .model(let s) = typed { s } else { nil } }
    public var prompt: PromptSpec? { if case .prompt(let s) = typed { s } else { nil } }
    public var deployment: DeploymentSpec? { if case .deployment(let s) = typed { s } else { nil } }

    /// How a Model or Prompt is named in the registry; nil for another kind.
    public var registryEntry: RegistryEntry? {
        switch typed {
        case .model(let s): s.registry
        case .prompt(let s): s.registry
        default: nil
        }
    }

    /// The registry's name for a Model or Prompt (`spec.registryName`, by default the resource's
    /// name); the resource's name for another kind.
    public var registryName: String { registryEntry?.name(of: id.name) ?? id.name }

    /// The alias a Model or Prompt moves (`spec.alias`, by default the environment's name).
    public var alias: String { registryEntry?.alias(in: environment) ?? environment }
}

extension JSONValue {
    /// The strings of a list (a schema-checked list of strings), or none.
    var strings: [String] { arrayValue?.compactMap(\.stringValue) ?? [] }

    /// A map of strings; a value of another type reads as its JSON.
    var stringMap: [String: String] {
        (objectValue ?? [:]).mapValues { $0.stringValue ?? $0.canonicalJSON }
    }
}
