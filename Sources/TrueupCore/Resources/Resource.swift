/// One resource of an environment's desired state, after overlays, variables and validation.
public struct Resource: Sendable {
    public var id: ResourceID
    public var environment: String
    /// The typed `spec`, as the schema typed it.
    public var spec: JSONValue
    /// `metadata.labels` and `metadata.annotations`.
    public var labels: [String: String]
    public var annotations: [String: String]
    /// The merged document, keeping the location of every value for later messages.
    public var node: Node
    /// Where the resource was declared: the base document first, then each overlay.
    public var declaredAt: [SourceLocation]
    /// Resources this one needs first: references and `dependsOn`, sorted.
    public var dependencies: [ResourceID]

    public init(
        id: ResourceID, environment: String, spec: JSONValue, labels: [String: String] = [:],
        annotations: [String: String] = [:], node: Node, declaredAt: [SourceLocation], dependencies: [ResourceID] = []
    ) {
        self.id = id
        self.environment = environment
        self.spec = spec
        self.labels = labels
        self.annotations = annotations
        self.node = node
        self.declaredAt = declaredAt
        self.dependencies = dependencies
    }

    /// The location of the value at `path` within the spec, or the document's when it is absent.
    public func location(of path: FieldPath) -> SourceLocation {
        var node = self.node
        for component in path.components {
            switch component {
            case .key(let key):
                guard let next = node[key] else { return node.location }
                node = next
            case .index(let i):
                guard let items = node.items, i < items.count else { return node.location }
                node = items[i]
            }
        }
        return node.location
    }
}
