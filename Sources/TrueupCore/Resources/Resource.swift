/// One resource of an environment's desired state, after overlays, variables and validation.
public struct Resource: Sendable {
    public var id: ResourceID
    public var environment: String
    /// The `spec` as JSON, as the schema typed it: what identity hashes, diffs and applied
    /// records are made of. Read fields from `typed`.
    public var spec: JSONValue
    /// The `spec` decoded into its kind's type, with its defaults (see `TypedSpec`).
    public var typed: TypedSpec
    /// The document as declared (overlays merged; before nulls are removed and variables
    /// substituted), kept for the location of every value in later messages. Read values from
    /// `spec` or `typed`, never from here.
    public var node: Node
    /// Where the resource was declared: the base document first, then each overlay.
    public var declaredAt: [SourceLocation]
    /// Resources this one needs first: references and `dependsOn`, sorted.
    public var dependencies: [ResourceID]

    public init(
        id: ResourceID, environment: String, spec: JSONValue, typed: TypedSpec, node: Node, declaredAt: [SourceLocation],
        dependencies: [ResourceID] = []
    ) {
        self.id = id
        self.environment = environment
        self.spec = spec
        self.typed = typed
        self.node = node
        self.declaredAt = declaredAt
        self.dependencies = dependencies
    }

    /// The location of the value at `path` within the spec, or the document's when it is absent.
    public func location(of path: FieldPath) -> SourceLocation {
        Self.location(of: path, in: node)
    }

    /// The location of the value at `path` in `node`, or of the nearest mapping above it.
    static func location(of path: FieldPath, in node: Node) -> SourceLocation {
        var node = node
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
