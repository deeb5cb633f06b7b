/// The backend protocols: small, role by role, like swift-log's LogHandler. The core owns them;
/// TrueupBackends implements them (Local/, later MLflow/ and Ray/), and one conformance suite proves
/// each implementation. The engine composes roles per environment (`spec.backends`).

public struct ModelRegistration: Sendable {
    public var model: String
    /// Where the version's files are: the artifact's URI, or the spec's external `artifact` URI.
    public var sourceLocation: String
    /// The version's files in the environment's artifact store (a job's `model/` output); nil for
    /// an external `artifact:` URI, which is recorded as it is.
    public var artifact: ArtifactReference?
    /// Deterministic: registering twice with the same key returns the first version.
    public var idempotencyKey: String
    public var tags: [String: String]
    /// For a version a job trained: that run's `metrics.json` and its parameters (the job's
    /// resolved `env` and `command`), for a registry that records runs (MLflow).
    public var metrics: [String: Double]
    public var params: [String: String]

    public init(model: String, sourceLocation: String, idempotencyKey: String, tags: [String: String], artifact: ArtifactReference? = nil,
                metrics: [String: Double] = [:], params: [String: String] = [:]) {
        self.metrics = metrics
        self.params = params
        self.model = model
        self.artifact = artifact
        self.sourceLocation = sourceLocation
        self.idempotencyKey = idempotencyKey
        self.tags = tags
    }
}

public struct PromptRegistration: Sendable {
    public var prompt: String
    public var template: String
    public var config: JSONValue
    public var tags: [String: String]

    public init(prompt: String, template: String, config: JSONValue, tags: [String: String]) {
        self.prompt = prompt
        self.template = template
        self.config = config
        self.tags = tags
    }
}

/// Models and prompts, their versions and aliases.
public protocol RegistryBackend: Sendable {
    func observe(models: Set<String>, prompts: Set<String>) async throws -> RegistryState
    func registerModelVersion(_ request: ModelRegistration) async throws -> ModelVersionInfo
    func setModelAlias(model: String, alias: String, version: String) async throws
    func deleteModelAlias(model: String, alias: String) async throws
    func tagModelVersion(model: String, version: String, tags: [String: String]) async throws
    /// Content-addressed: returns the existing version when one has the same template and config.
    func registerPromptVersion(_ request: PromptRegistration) async throws -> PromptVersionInfo
    func setPromptAlias(prompt: String, alias: String, version: String) async throws
    func deletePromptAlias(prompt: String, alias: String) async throws
    func tagPromptVersion(prompt: String, version: String, tags: [String: String]) async throws
}

public struct JobRunRequest: Sendable {
    public var identity: String
    public var environment: String
    public var job: String
    public var commit: String
    public var codeTree: String
    /// Writes the job's code tree (at the commit) into the given folder; called only when it really runs.
    public var materializeCode: @Sendable (String) throws -> Void
    public var command: [String]
    /// The spec's `env` plus the job contract's variables (inputs, candidate...), except the ones the
    /// backend itself sets (`TRUEUP_OUTPUT_DIR`, `TRUEUP_RUN_ID`).
    public var environmentVariables: [String: String]
    public var inputs: [String: String]
    public var candidate: String?
    public var timeoutSeconds: Double
    public var retries: Int
    /// The spec's `resources`; a remote backend reserves them for the job (the local backend
    /// runs it as a plain process).
    public var resources: JobResources

    public init(
        identity: String, environment: String, job: String, commit: String, codeTree: String,
        materializeCode: @escaping @Sendable (String) throws -> Void, command: [String],
        environmentVariables: [String: String], inputs: [String: String], candidate: String?, timeoutSeconds: Double, retries: Int,
        resources: JobResources = JobResources()
    ) {
        self.resources = resources
        self.identity = identity
        self.environment = environment
        self.job = job
        self.commit = commit
        self.codeTree = codeTree
        self.materializeCode = materializeCode
        self.command = command
        self.environmentVariables = environmentVariables
        self.inputs = inputs
        self.candidate = candidate
        self.timeoutSeconds = timeoutSeconds
        self.retries = retries
    }
}

/// A job's `resources` (`{cpus: 1, memoryMB: 2048, gpus: 0}`); nil: the backend's default.
public struct JobResources: Sendable, Hashable {
    public var cpus: Double?
    public var memoryMB: Int?
    public var gpus: Double?

    public init(cpus: Double? = nil, memoryMB: Int? = nil, gpus: Double? = nil) {
        self.cpus = cpus
        self.memoryMB = memoryMB
        self.gpus = gpus
    }

    /// A spec's `resources` object (`{cpus, memoryMB, gpus}`); absent fields stay nil.
    public init(spec: JSONValue?) {
        self.init(cpus: spec?["cpus"]?.doubleValue, memoryMB: spec?["memoryMB"]?.intValue, gpus: spec?["gpus"]?.doubleValue)
    }
}

/// Jobs: run at most once per identity, even across crashes of the caller.
public protocol JobBackend: Sendable {
    /// Every run recorded for the environment, by identity; a backend whose records must be
    /// decoded hands them over undecoded (see `JobRunHistory`).
    func observe(environment: String) async throws -> JobRunHistory
    /// Runs the job unless a run with this identity already succeeded (then returns it); a run
    /// left behind by a killed process is adopted, never started a second time.
    func run(_ request: JobRunRequest) async throws -> JobRunRecord
    /// How a job's input or candidate is passed: a local path, or a URI.
    var passesLocalPaths: Bool { get }
    /// A run's output parts (`model/`, `data/`, `metrics.json`) are put into the environment's
    /// artifact store when it finishes and reported in `JobRunRecord.outputs`.
}

public struct DeploymentRequest: Sendable {
    public var environment: String
    public var name: String
    public var configHash: String
    public var assetVersion: String
    public var materializeCode: @Sendable (String) throws -> Void
    public var command: [String]
    public var importPath: String?
    public var environmentVariables: [String: String]
    public var healthPath: String
    public var healthTimeoutSeconds: Double
    public var replicas: Int
    /// `spec.port`: the port to serve on, for backends that serve on this machine (local).
    public var port: Int?
    /// The spec's `resources`, per replica; a backend that schedules work reserves them.
    public var resources: JobResources

    public init(
        environment: String, name: String, configHash: String, assetVersion: String,
        materializeCode: @escaping @Sendable (String) throws -> Void, command: [String], importPath: String?,
        environmentVariables: [String: String], healthPath: String, healthTimeoutSeconds: Double, replicas: Int,
        port: Int? = nil, resources: JobResources = JobResources()
    ) {
        self.port = port
        self.resources = resources
        self.environment = environment
        self.name = name
        self.configHash = configHash
        self.assetVersion = assetVersion
        self.materializeCode = materializeCode
        self.command = command
        self.importPath = importPath
        self.environmentVariables = environmentVariables
        self.healthPath = healthPath
        self.healthTimeoutSeconds = healthTimeoutSeconds
        self.replicas = replicas
    }
}

/// Serving endpoints: start the new version, wait for health, then stop the old one.
public protocol ServingBackend: Sendable {
    func observe(environment: String) async throws -> [String: DeploymentRecord]
    func deploy(_ request: DeploymentRequest) async throws -> DeploymentRecord
    func remove(environment: String, name: String) async throws
    /// Whether a deployment's model (`TRUEUP_MODEL_URI`) is handed over as a local folder (the
    /// local backend) or as the artifact's URI, which the serving system reads itself.
    var passesLocalPaths: Bool { get }
}

extension ServingBackend {
    public var passesLocalPaths: Bool { true }
}

public struct DatasetRegistration: Sendable {
    public var environment: String
    public var name: String
    /// A local file or folder holding the data now.
    public var sourcePath: String
    public var expectedSHA256: String?
    public var producingRun: String?

    public init(environment: String, name: String, sourcePath: String, expectedSHA256: String?, producingRun: String?) {
        self.environment = environment
        self.name = name
        self.sourcePath = sourcePath
        self.expectedSHA256 = expectedSHA256
        self.producingRun = producingRun
    }
}

/// The data catalog: content-addressed dataset versions and each environment's current one.
public protocol DataBackend: Sendable {
    func observe(environment: String) async throws -> [String: ObservedDataset]
    func register(_ request: DatasetRegistration) async throws -> DatasetVersion
    func remove(environment: String, name: String) async throws
}

/// A backend error says whether trying again may help (DESIGN §3: retries for transient errors).
public struct BackendError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var transient: Bool

    public init(_ message: String, transient: Bool = false) {
        self.message = message
        self.transient = transient
    }

    public var description: String { message }
}
