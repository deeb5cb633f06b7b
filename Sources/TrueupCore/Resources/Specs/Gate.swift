/// One entry of a Model's or Prompt's `spec.gates`: a job run on the candidate version, whose
/// metrics must meet their thresholds before the alias moves.
public struct Gate: Sendable, Hashable {
    public struct Metric: Sendable, Hashable {
        public var name: String
        /// As written, e.g. `">= 0.85"`.
        public var text: String
        /// Nil when `text` is not a threshold (a rule reports it, so never in a valid resource).
        public var threshold: Threshold?
    }

    /// The Job run with the candidate.
    public var job: String
    /// Sorted by name.
    public var metrics: [Metric]

    public init(job: String, metrics: [Metric]) {
        self.job = job
        self.metrics = metrics
    }

    init(_ gate: JSONValue) {
        job = gate["job"]?.stringValue ?? ""
        metrics = (gate["metrics"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { name, value in
            let text = value.stringValue ?? ""
            return Metric(name: name, text: text, threshold: Threshold(text))
        }
    }

    static func list(_ spec: JSONValue) -> [Gate] { (spec["gates"]?.arrayValue ?? []).map(Gate.init) }

    /// `Job/eval (auc >= 0.85, latency <= 120)`, as plans show it.
    public var summary: String {
        "Job/\(job)" + (metrics.isEmpty ? "" : " (\(metrics.map { "\($0.name) \($0.text)" }.joined(separator: ", ")))")
    }
}

extension [Gate] {
    /// References to the gate jobs, for the dependency graph and its messages.
    var references: [SpecReference] {
        enumerated().map { i, gate in SpecReference(ResourceID(.job, gate.job), field: "spec.gates[\(i)].job") }
    }
}
