/// A Job's `spec`: code run as a batch step, whose identity is its code, spec and inputs.
public struct JobSpec: Sendable, Hashable {
    public enum Trigger: Sendable, Hashable {
        /// Runs when its identity changes (the default).
        case onChange
        /// Runs only as a gate, or when a resource claims its output.
        case manual
        /// Runs on a cron schedule, as well as on change.
        case schedule(String)
    }

    /// Repository folder the command runs in.
    public var code: String
    public var command: [String]
    /// Environment variables for the process.
    public var env: [String: String]
    /// Datasets and models the job reads, by name.
    public var inputDatasets: [String]
    public var inputModels: [String]
    public var trigger: Trigger
    /// `spec.timeout` as written; see `timeoutSeconds`.
    public var timeout: String?
    public var retries: Int
    public var resources: ComputeResources?
    public var dependsOn: [String]

    public static let defaultTrigger = Trigger.onChange
    /// One hour, when `spec.timeout` is not given.
    public static let defaultTimeoutSeconds: Double = 3600
    public static let defaultRetries = 0

    public init(code: String, command: [String], env: [String: String] = [:], inputDatasets: [String] = [], inputModels: [String] = [],
                trigger: Trigger = Self.defaultTrigger, timeout: String? = nil, retries: Int = Self.defaultRetries,
                resources: ComputeResources? = nil, dependsOn: [String] = []) {
        self.code = code
        self.command = command
        self.env = env
        self.inputDatasets = inputDatasets
        self.inputModels = inputModels
        self.trigger = trigger
        self.timeout = timeout
        self.retries = retries
        self.resources = resources
        self.dependsOn = dependsOn
    }

    init(_ spec: JSONValue) {
        let trigger: Trigger
        switch spec["trigger"] {
        case .string("manual")?: trigger = .manual
        case let value? where value["schedule"]?.stringValue != nil: trigger = .schedule(value["schedule"]!.stringValue!)
        default: trigger = Self.defaultTrigger
        }
        self.init(code: spec["code"]?.stringValue ?? "", command: spec["command"]?.strings ?? [], env: spec["env"]?.stringMap ?? [:],
                  inputDatasets: spec["inputs"]?["datasets"]?.strings ?? [], inputModels: spec["inputs"]?["models"]?.strings ?? [],
                  trigger: trigger, timeout: spec["timeout"]?.stringValue, retries: spec["retries"]?.intValue ?? Self.defaultRetries,
                  resources: ComputeResources(spec["resources"]), dependsOn: spec["dependsOn"]?.strings ?? [])
    }

    /// How long a run may take before it is stopped.
    public var timeoutSeconds: Double { timeout.flatMap(DurationSyntax.seconds) ?? Self.defaultTimeoutSeconds }

    /// The inputs, each with its kind.
    public var inputs: [ResourceID] {
        inputDatasets.map { ResourceID(.dataset, $0) } + inputModels.map { ResourceID(.model, $0) }
    }

    var references: [SpecReference] {
        inputDatasets.enumerated().map { SpecReference(ResourceID(.dataset, $1), field: "spec.inputs.datasets[\($0)]") }
            + inputModels.enumerated().map { SpecReference(ResourceID(.model, $1), field: "spec.inputs.models[\($0)]") }
    }

    func checkRules<Rules: SpecRuleChecking>(_ rules: inout Rules) {
        rules.repositoryPath("spec.code", code, .directory)
        if case .schedule(let schedule) = trigger {
            do { _ = try CronSchedule(schedule) } catch { rules.fail("spec.trigger.schedule", "\(error): write five fields, e.g. \"0 2 * * *\"") }
        }
        rules.positiveDuration("spec.timeout", timeout)
    }
}
