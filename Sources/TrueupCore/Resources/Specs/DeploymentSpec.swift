/// A Deployment's `spec`: a serving endpoint for a model or a prompt.
public struct DeploymentSpec: Sendable, Hashable {
    /// The health check an update must pass before the old version stops.
    public struct Health: Sendable, Hashable {
        public var path: String
        /// As written; see `timeoutSeconds`.
        public var timeout: String?

        public static let defaultPath = "/healthz"
        public static let defaultTimeoutSeconds: Double = 30

        public init(path: String = Self.defaultPath, timeout: String? = nil) {
            self.path = path
            self.timeout = timeout
        }

        /// How long the server has to become healthy.
        public var timeoutSeconds: Double { timeout.flatMap(DurationSyntax.seconds) ?? Self.defaultTimeoutSeconds }
    }

    /// The Model served (exactly one of `model` and `prompt`, a rule checks it).
    public var model: String?
    /// The Prompt served.
    public var prompt: String?
    /// Repository folder of the server's code.
    public var code: String?
    /// Local serving: the command that starts the server.
    public var command: [String]?
    /// Ray serving: the application, `module:attribute`.
    public var importPath: String?
    public var replicas: Int
    /// Local serving: the port its process must listen on (otherwise one is chosen).
    public var port: Int?
    /// Free-form configuration for the server (an object).
    public var config: JSONValue
    public var env: [String: String]
    public var health: Health
    public var resources: ComputeResources?
    public var dependsOn: [String]

    public static let defaultReplicas = 1

    public init(model: String? = nil, prompt: String? = nil, code: String? = nil, command: [String]? = nil, importPath: String? = nil,
                replicas: Int = Self.defaultReplicas, port: Int? = nil, config: JSONValue = .object([:]), env: [String: String] = [:], health: Health = Health(),
                resources: ComputeResources? = nil, dependsOn: [String] = []) {
        self.model = model
        self.prompt = prompt
        self.code = code
        self.command = command
        self.importPath = importPath
        self.replicas = replicas
        self.port = port
        self.config = config
        self.env = env
        self.health = health
        self.resources = resources
        self.dependsOn = dependsOn
    }

    init(_ spec: JSONValue) {
        let health = spec["health"]
        self.init(model: spec["model"]?.stringValue, prompt: spec["prompt"]?.stringValue, code: spec["code"]?.stringValue,
                  command: spec["command"]?.arrayValue.map { $0.compactMap(\.stringValue) }, importPath: spec["importPath"]?.stringValue,
                  replicas: spec["replicas"]?.intValue ?? Self.defaultReplicas, port: spec["port"]?.intValue, config: spec["config"] ?? .object([:]),
                  env: spec["env"]?.stringMap ?? [:],
                  health: Health(path: health?["path"]?.stringValue ?? Health.defaultPath, timeout: health?["timeout"]?.stringValue),
                  resources: ComputeResources(spec["resources"]), dependsOn: spec["dependsOn"]?.strings ?? [])
    }

    /// The Model or Prompt served.
    public var serves: ResourceID? {
        if let model { return ResourceID(.model, model) }
        if let prompt { return ResourceID(.prompt, prompt) }
        return nil
    }

    var references: [SpecReference] {
        var found: [SpecReference] = []
        if let model { found.append(SpecReference(ResourceID(.model, model), field: "spec.model")) }
        if let prompt { found.append(SpecReference(ResourceID(.prompt, prompt), field: "spec.prompt")) }
        return found
    }

    func checkRules<Rules: SpecRuleChecking>(_ rules: inout Rules) {
        rules.exactlyOne([("model", model != nil), ("prompt", prompt != nil)], of: "thing to serve")
        rules.repositoryPath("spec.code", code, .directory)
        rules.positiveDuration("spec.health.timeout", health.timeout)
        switch rules.serving {
        case .ray:
            if importPath == nil { rules.fail("spec", "serving runs on ray in this environment, which needs spec.importPath (module:app): add it") }
            // Without it the whole repository would be the application's package, and a change
            // to the serving code could not be told from any other commit.
            if code == nil { rules.fail("spec", "serving runs on ray in this environment, which needs spec.code, the repository folder holding the Serve application: add it") }
        default:
            if command == nil { rules.fail("spec", "serving runs locally in this environment, which needs spec.command: add it") }
            if code == nil, command != nil { rules.fail("spec", "spec.command needs spec.code, the repository folder it runs in: add it") }
        }
    }
}
