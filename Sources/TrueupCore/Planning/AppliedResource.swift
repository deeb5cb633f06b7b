import Foundation

/// What trueup last applied for one resource: the inventory drift and prune are computed against.
///
/// Kept as typed fields with content hashes rather than one JSON tree: a no-op plan compares the
/// hashes of the summary and spec with the desired ones and parses the stored JSON text only for a
/// resource that changed (to say which fields did).
public struct AppliedResource: Codable, Sendable, Hashable {
    public var environment: String
    public var id: ResourceID
    /// The after-state the planner produced and the apply achieved, as canonical JSON.
    public var summaryJSON: String?
    /// `AppliedResource.hash` of the summary ("" when there is none).
    public var summaryHash: String
    /// The resource's spec when it was applied, as canonical JSON (for field-level reasons).
    public var specJSON: String?
    public var specHash: String
    /// Models and prompts: what identifies them in the registry (prune and observe use these).
    public var registryName: String?
    public var alias: String?
    /// Jobs and deployments: the git tree id of their `code` folder.
    public var codeTree: String?
    /// Jobs: the resolved input versions, by input name.
    public var inputs: [String: String]?
    public var appliedCommit: String
    public var appliedAt: Double

    public init(
        environment: String, id: ResourceID, summary: JSONValue?, spec: JSONValue?, registryName: String? = nil, alias: String? = nil,
        codeTree: String? = nil, inputs: [String: String]? = nil, appliedCommit: String, appliedAt: Double
    ) {
        self.environment = environment
        self.id = id
        summaryJSON = summary?.canonicalJSON
        summaryHash = Self.hash(summary)
        specJSON = spec?.canonicalJSON
        specHash = Self.hash(spec)
        self.registryName = registryName
        self.alias = alias
        self.codeTree = codeTree
        self.inputs = inputs
        self.appliedCommit = appliedCommit
        self.appliedAt = appliedAt
    }

    /// From the single JSON object state databases before typed columns held
    /// (`{summary, spec, registryName, alias, codeTree, inputs}`); other keys are not kept.
    public init(environment: String, id: ResourceID, state: JSONValue, appliedCommit: String, appliedAt: Double) {
        var inputs: [String: String]?
        if let object = state["inputs"]?.objectValue {
            inputs = object.compactMapValues(\.stringValue)
        }
        self.init(
            environment: environment, id: id, summary: state["summary"], spec: state["spec"], registryName: state["registryName"]?.stringValue,
            alias: state["alias"]?.stringValue, codeTree: state["codeTree"]?.stringValue, inputs: inputs,
            appliedCommit: appliedCommit, appliedAt: appliedAt)
    }

    /// A row as stored: the JSON texts and hashes exactly as they were written.
    public init(
        environment: String, id: ResourceID, summaryJSON: String?, summaryHash: String, specJSON: String?, specHash: String,
        registryName: String?, alias: String?, codeTree: String?, inputs: [String: String]?, appliedCommit: String, appliedAt: Double
    ) {
        self.environment = environment
        self.id = id
        self.summaryJSON = summaryJSON
        self.summaryHash = summaryHash
        self.specJSON = specJSON
        self.specHash = specHash
        self.registryName = registryName
        self.alias = alias
        self.codeTree = codeTree
        self.inputs = inputs
        self.appliedCommit = appliedCommit
        self.appliedAt = appliedAt
    }

    /// The content hash the inventory compares: sha256 of the canonical JSON; "" for nothing.
    public static func hash(_ value: JSONValue?) -> String {
        value.map { ContentDigest.sha256($0.canonicalJSON) } ?? ""
    }

    /// The applied summary, parsed (small: a version, an alias, a config hash).
    public var summary: JSONValue? { summaryJSON.flatMap { try? JSONValue.parse(Data($0.utf8)) } }
    /// The applied spec, parsed; only needed when `specMatches` is false.
    public var spec: JSONValue? { specJSON.flatMap { try? JSONValue.parse(Data($0.utf8)) } }

    public func summaryMatches(_ value: JSONValue?) -> Bool { summaryHash == Self.hash(value) }
    public func specMatches(_ value: JSONValue?) -> Bool { specHash == Self.hash(value) }

    /// The fields as one JSON object, as the inventory was kept before typed columns.
    public var state: JSONValue {
        var object: [String: JSONValue] = [:]
        if let summary { object["summary"] = summary }
        if let spec { object["spec"] = spec }
        if let registryName { object["registryName"] = .string(registryName) }
        if let alias { object["alias"] = .string(alias) }
        if let codeTree { object["codeTree"] = .string(codeTree) }
        if let inputs { object["inputs"] = .object(inputs.mapValues { .string($0) }) }
        return .object(object)
    }
}
