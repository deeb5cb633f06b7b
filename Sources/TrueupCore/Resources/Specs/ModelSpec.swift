/// A Model's `spec`: a registered model whose alias in this environment points at one version.
public struct ModelSpec: Sendable, Hashable {
    /// Where the version comes from (a rule makes it exactly one).
    public enum Source: Sendable, Hashable {
        /// A version already in the registry, pinned.
        case version(String)
        /// What a Job of the environment trains: its `model/` output, registered.
        case fromJob(String)
        /// An artifact URI, registered as a version.
        case artifact(String)
    }

    public var version: String?
    public var fromJob: String?
    public var artifact: String?
    public var registry: RegistryEntry
    public var gates: [Gate]
    public var dependsOn: [String]

    public init(version: String? = nil, fromJob: String? = nil, artifact: String? = nil, registry: RegistryEntry = RegistryEntry(),
                gates: [Gate] = [], dependsOn: [String] = []) {
        self.version = version
        self.fromJob = fromJob
        self.artifact = artifact
        self.registry = registry
        self.gates = gates
        self.dependsOn = dependsOn
    }

    init(_ spec: JSONValue) {
        self.init(version: spec["version"]?.stringValue, fromJob: spec["fromJob"]?.stringValue, artifact: spec["artifact"]?.stringValue,
                  registry: RegistryEntry(spec), gates: Gate.list(spec), dependsOn: spec["dependsOn"]?.strings ?? [])
    }

    /// The one source of a valid Model.
    public var source: Source? {
        if let version { return .version(version) }
        if let fromJob { return .fromJob(fromJob) }
        if let artifact { return .artifact(artifact) }
        return nil
    }

    var references: [SpecReference] {
        (fromJob.map { [SpecReference(ResourceID(.job, $0), field: "spec.fromJob")] } ?? []) + gates.references
    }

    func checkRules<Rules: SpecRuleChecking>(_ rules: inout Rules) {
        rules.exactlyOne([("version", version != nil), ("fromJob", fromJob != nil), ("artifact", artifact != nil)])
        rules.checkGates(gates)
    }
}
