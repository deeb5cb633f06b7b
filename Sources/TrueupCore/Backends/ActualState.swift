/// What exists, as the backends report it. The planner compares this with the desired state.

/// One version of a dataset in an environment's data catalog.
public struct DatasetVersion: Codable, Sendable, Hashable {
    /// The content hash (sha256, hex): versions are content-addressed.
    public var version: String
    public var size: Int64
    /// Where the data lives: a local path on the local backend, a URI on others.
    public var location: String
    /// The job run (identity) that produced it, if a job did.
    public var producingRun: String?

    public init(version: String, size: Int64, location: String, producingRun: String? = nil) {
        self.version = version
        self.size = size
        self.location = location
        self.producingRun = producingRun
    }
}

/// A dataset as observed: its current version and whether the stored data still has that hash.
public struct ObservedDataset: Codable, Sendable, Hashable {
    public var current: DatasetVersion
    /// nil when intact; otherwise what is wrong (the file changed or vanished).
    public var problem: String?

    public init(current: DatasetVersion, problem: String? = nil) {
        self.current = current
        self.problem = problem
    }
}

public struct ModelVersionInfo: Codable, Sendable, Hashable {
    public var model: String
    public var version: String
    /// Where the version's files are (a folder on the local backend, a URI elsewhere).
    public var location: String
    /// The job run identity that produced it, or the artifact it was registered from.
    public var source: String
    public var tags: [String: String]

    public init(model: String, version: String, location: String, source: String, tags: [String: String] = [:]) {
        self.model = model
        self.version = version
        self.location = location
        self.source = source
        self.tags = tags
    }
}

public struct PromptVersionInfo: Codable, Sendable, Hashable {
    public var prompt: String
    public var version: String
    /// sha256 of the template and its config: equal content, equal version.
    public var contentHash: String
    public var template: String
    public var config: JSONValue
    public var tags: [String: String]

    public init(prompt: String, version: String, contentHash: String, template: String, config: JSONValue, tags: [String: String] = [:]) {
        self.prompt = prompt
        self.version = version
        self.contentHash = contentHash
        self.template = template
        self.config = config
        self.tags = tags
    }
}

/// The registry's models and prompts that an environment manages, with their aliases.
public struct RegistryState: Codable, Sendable, Hashable {
    public struct Model: Codable, Sendable, Hashable {
        public var versions: [String: ModelVersionInfo] = [:]
        public var aliases: [String: String] = [:]
        public init() {}
    }

    public struct Prompt: Codable, Sendable, Hashable {
        public var versions: [String: PromptVersionInfo] = [:]
        public var aliases: [String: String] = [:]
        public init() {}
    }

    public var models: [String: Model] = [:]
    public var prompts: [String: Prompt] = [:]

    public init() {}
}

public struct JobRunRecord: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable { case running, succeeded, failed }

    public var identity: String
    public var environment: String
    public var job: String
    public var status: Status
    public var exitCode: Int?
    public var attempts: Int
    /// Where the job wrote its output while it ran (the backend's scratch; not for later steps).
    public var outputLocation: String
    /// What later steps read: the output's parts in the environment's artifact store, keyed by
    /// `JobOutputPart` raw value (`model`, `data`, `metrics`); a part the job did not write is absent.
    public var outputs: [String: ArtifactReference]
    public var metrics: [String: Double]
    public var logPath: String
    public var commit: String
    public var codeTree: String
    /// Resolved input versions, by input name.
    public var inputs: [String: String]
    /// For a gate run: the candidate version under test.
    public var candidate: String?
    public var startedAt: Double
    public var finishedAt: Double?
    public var error: String?

    public init(
        identity: String, environment: String, job: String, status: Status, exitCode: Int? = nil, attempts: Int = 1,
        outputLocation: String, metrics: [String: Double] = [:], logPath: String, commit: String, codeTree: String,
        inputs: [String: String] = [:], candidate: String? = nil, startedAt: Double, finishedAt: Double? = nil, error: String? = nil,
        outputs: [String: ArtifactReference] = [:]
    ) {
        self.outputs = outputs
        self.identity = identity
        self.environment = environment
        self.job = job
        self.status = status
        self.exitCode = exitCode
        self.attempts = attempts
        self.outputLocation = outputLocation
        self.metrics = metrics
        self.logPath = logPath
        self.commit = commit
        self.codeTree = codeTree
        self.inputs = inputs
        self.candidate = candidate
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.error = error
    }
    private enum CodingKeys: String, CodingKey {
        case identity, environment, job, status, exitCode, attempts, outputLocation, outputs, metrics, logPath, commit, codeTree,
            inputs, candidate, startedAt, finishedAt, error
    }

    /// Records written before a field existed still read: `attempts` defaults to 1, `outputs`,
    /// `metrics` and `inputs` to empty (runs recorded before the artifact store have no outputs).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        identity = try container.decode(String.self, forKey: .identity)
        environment = try container.decode(String.self, forKey: .environment)
        job = try container.decode(String.self, forKey: .job)
        status = try container.decode(Status.self, forKey: .status)
        exitCode = try container.decodeIfPresent(Int.self, forKey: .exitCode)
        attempts = try container.decodeIfPresent(Int.self, forKey: .attempts) ?? 1
        outputLocation = try container.decode(String.self, forKey: .outputLocation)
        outputs = try container.decodeIfPresent([String: ArtifactReference].self, forKey: .outputs) ?? [:]
        metrics = try container.decodeIfPresent([String: Double].self, forKey: .metrics) ?? [:]
        logPath = try container.decode(String.self, forKey: .logPath)
        commit = try container.decode(String.self, forKey: .commit)
        codeTree = try container.decode(String.self, forKey: .codeTree)
        inputs = try container.decodeIfPresent([String: String].self, forKey: .inputs) ?? [:]
        candidate = try container.decodeIfPresent(String.self, forKey: .candidate)
        startedAt = try container.decode(Double.self, forKey: .startedAt)
        finishedAt = try container.decodeIfPresent(Double.self, forKey: .finishedAt)
        error = try container.decodeIfPresent(String.self, forKey: .error)
    }
}

public struct DeploymentRecord: Codable, Sendable, Hashable {
    public var environment: String
    public var name: String
    /// Hash of everything that defines the running service: code tree, command, config, asset version.
    public var configHash: String
    /// The model or prompt version it serves.
    public var assetVersion: String
    public var endpoint: String
    public var pid: Int32?
    public var startedAt: Double
    public var healthPath: String
    /// nil when serving; otherwise what is wrong (dead process, failing health check).
    public var problem: String?
    /// What is still under way while it is not yet serving as applied (a Serve application
    /// DEPLOYING); nil when nothing is. Not a problem and not drift: health says Progressing.
    public var inProgress: String? = nil

    public init(environment: String, name: String, configHash: String, assetVersion: String, endpoint: String, pid: Int32?, startedAt: Double, healthPath: String = DeploymentSpec.Health.defaultPath, problem: String? = nil) {
        self.healthPath = healthPath
        self.environment = environment
        self.name = name
        self.configHash = configHash
        self.assetVersion = assetVersion
        self.endpoint = endpoint
        self.pid = pid
        self.startedAt = startedAt
        self.problem = problem
    }
}

/// Everything observed for one environment, gathered in as few backend calls as each allows.
public struct ObservedState: Codable, Sendable {
    public var datasets: [String: ObservedDataset] = [:]
    public var registry = RegistryState()
    /// Job runs by identity, each read when looked up.
    public var jobRuns = JobRunHistory()
    public var deployments: [String: DeploymentRecord] = [:]

    public init() {}
}
