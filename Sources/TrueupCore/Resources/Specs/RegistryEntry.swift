/// How a Model or Prompt is known to the registry: `spec.registryName` and `spec.alias`, with
/// their defaults in one place (the planner, the executor, the observer and promotion all read them).
public struct RegistryEntry: Sendable, Hashable {
    /// `spec.registryName`, as written.
    public var declaredName: String?
    /// `spec.alias`, as written.
    public var declaredAlias: String?

    public init(declaredName: String? = nil, declaredAlias: String? = nil) {
        self.declaredName = declaredName
        self.declaredAlias = declaredAlias
    }

    init(_ spec: JSONValue) {
        self.init(declaredName: spec["registryName"]?.stringValue, declaredAlias: spec["alias"]?.stringValue)
    }

    /// The registry's name: `spec.registryName`, or else the resource's own name.
    public func name(of resource: String) -> String { declaredName ?? resource }

    /// The alias the environment moves: `spec.alias`, or else the environment's name. Not decided
    /// when decoding: one declaration validated once serves every environment that shares it.
    public func alias(in environment: String) -> String { declaredAlias ?? environment }
}
