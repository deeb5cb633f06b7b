/// A Dataset's `spec`: a versioned data asset of the environment.
public struct DatasetSpec: Sendable, Hashable {
    /// Where the data comes from (a rule makes it exactly one).
    public enum Source: Sendable, Hashable {
        /// A file of the repository at the reconciled commit.
        case path(String)
        /// An external location, pinned by `sha256`.
        case uri(String)
        /// The `data/` output of a Job of the environment.
        case fromJob(String)
    }

    public var path: String?
    public var uri: String?
    public var fromJob: String?
    /// The pinned content hash, verified on every observation.
    public var sha256: String?
    /// A Job that must pass on new data before it becomes current.
    public var validate: String?
    public var description: String?
    public var dependsOn: [String]

    public init(path: String? = nil, uri: String? = nil, fromJob: String? = nil, sha256: String? = nil,
                validate: String? = nil, description: String? = nil, dependsOn: [String] = []) {
        self.path = path
        self.uri = uri
        self.fromJob = fromJob
        self.sha256 = sha256
        self.validate = validate
        self.description = description
        self.dependsOn = dependsOn
    }

    init(_ spec: JSONValue) {
        self.init(path: spec["path"]?.stringValue, uri: spec["uri"]?.stringValue, fromJob: spec["fromJob"]?.stringValue,
                  sha256: spec["sha256"]?.stringValue, validate: spec["validate"]?.stringValue,
                  description: spec["description"]?.stringValue, dependsOn: spec["dependsOn"]?.strings ?? [])
    }

    /// The one source of a valid Dataset.
    public var source: Source? {
        if let path { return .path(path) }
        if let uri { return .uri(uri) }
        if let fromJob { return .fromJob(fromJob) }
        return nil
    }

    var references: [SpecReference] {
        var found: [SpecReference] = []
        if let fromJob { found.append(SpecReference(ResourceID(.job, fromJob), field: "spec.fromJob")) }
        if let validate { found.append(SpecReference(ResourceID(.job, validate), field: "spec.validate")) }
        return found
    }

    func checkRules<Rules: SpecRuleChecking>(_ rules: inout Rules) {
        rules.exactlyOne([("path", path != nil), ("uri", uri != nil), ("fromJob", fromJob != nil)])
        if uri != nil, sha256 == nil {
            rules.fail("spec.uri", "an external uri needs spec.sha256 to pin its content: add the file's sha256")
        }
        if let path {
            switch rules.checkPath(path, .file) {
            case .failure(let problem): rules.fail("spec.path", problem.message)
            case .success(let entry):
                if let sha256, let actual = rules.digest(of: entry), actual != sha256 {
                    rules.fail("spec.sha256", "'\(path)' has sha256 \(actual) \(rules.revisionWords), not the pinned \(sha256): update spec.sha256 if the change is intended")
                }
            }
        }
    }
}
