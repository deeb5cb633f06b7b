/// The kinds of document trueup understands. Every kind has a schema in `schemas/`.
public enum ResourceKind: String, CaseIterable, Hashable, Comparable, Sendable, Codable {
    case environment = "Environment"
    case dataset = "Dataset"
    case job = "Job"
    case model = "Model"
    case prompt = "Prompt"
    case deployment = "Deployment"

    /// The kinds that live inside an environment (everything but Environment itself).
    public static let managed: [ResourceKind] = [.dataset, .job, .model, .prompt, .deployment]

    /// Kinds sort by name; ranked here once rather than by comparing the names each time
    /// (identities are sorted and compared throughout planning).
    public static func < (a: ResourceKind, b: ResourceKind) -> Bool { a.nameRank < b.nameRank }

    private var nameRank: Int {
        switch self {
        case .dataset: 0
        case .deployment: 1
        case .environment: 2
        case .job: 3
        case .model: 4
        case .prompt: 5
        }
    }

    /// File name of the kind's schema in `schemas/`.
    public var schemaFile: String { "\(rawValue.lowercased()).schema.json" }
}

/// A resource's identity within an environment: `Kind/name`.
public struct ResourceID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var kind: ResourceKind
    public var name: String

    public init(_ kind: ResourceKind, _ name: String) {
        self.kind = kind
        self.name = name
    }

    /// Parses `Kind/name`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let kind = ResourceKind(rawValue: String(parts[0])) else { return nil }
        self.init(kind, String(parts[1]))
    }

    /// Compared field by field rather than as a tuple: building the tuples copied (retained) both
    /// names at every comparison, most of the cost of sorting a thousand identities.
    public static func < (a: ResourceID, b: ResourceID) -> Bool {
        if a.kind != b.kind { return a.kind < b.kind }
        return a.name < b.name
    }

    public var description: String { "\(kind.rawValue)/\(name)" }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let id = ResourceID(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not Kind/name")
        }
        self = id
    }
}
