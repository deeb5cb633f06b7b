/// The pull-request report (DESIGN §5): per environment, (a) what the change does to the desired
/// state, (b) what merging would do against the actual state, (c) drift that exists already.
/// Its JSON form is documented by `schemas/diff-report.schema.json`.
public struct DiffReport: Codable, Sendable {
    public struct Revision: Codable, Sendable {
        public var revision: String
        public var commit: String
        public init(revision: String, commit: String) {
            self.revision = revision
            self.commit = commit
        }
    }

    public var formatVersion: Int
    public var base: Revision
    public var head: Revision
    public var environments: [EnvironmentDiff]

    public init(base: Revision, head: Revision, environments: [EnvironmentDiff]) {
        self.formatVersion = 1
        self.base = base
        self.head = head
        self.environments = environments
    }

    /// Merging would change something (exit 2).
    public var hasChanges: Bool { environments.contains { !$0.desiredChanges.isEmpty || ($0.plan?.hasChanges ?? false) } }
    public var hasErrors: Bool { environments.contains { !$0.errors.isEmpty } }
}

public struct EnvironmentDiff: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        /// Valid at head.
        case valid
        /// New in the head revision.
        case added
        /// Gone from the head revision.
        case removed
        /// Invalid at head: nothing would be applied to it.
        case invalid
        /// Valid at head, but its actual state could not be read (a backend this build lacks or
        /// cannot reach, a controller that did not answer): what merging would do is unknown.
        case unobserved
    }

    public var name: String
    public var status: Status
    /// Why the environment is invalid at head (file:line:col lines), or why its actual state could
    /// not be read.
    public var errors: [String]
    /// (a) Desired-state changes, resource by resource, field by field, after overlays and variables.
    public var desiredChanges: [ResourceChange]
    /// (b) What applying head would do against the actual state; nil when head is invalid or removed.
    public var plan: Plan?
    /// (c) Drift that exists before this change.
    public var drift: [DriftEntry]
    public var summary: Summary

    public struct Summary: Codable, Sendable, Hashable {
        public var desiredChanges: Int
        public var actions: Int
        public var jobRuns: Int
        public var gates: Int
        public var deletions: Int
        public var blocked: Int
        public var drift: Int

        public var isQuiet: Bool { desiredChanges == 0 && actions == 0 && drift == 0 }
    }

    public init(name: String, status: Status, errors: [String], desiredChanges: [ResourceChange], plan: Plan?, drift: [DriftEntry]) {
        self.name = name
        self.status = status
        self.errors = errors
        self.desiredChanges = desiredChanges
        self.plan = plan
        self.drift = drift
        let changes = plan?.changes.filter { $0.action != .noop } ?? []
        let gates = changes.filter { ($0.resource.kind == .model || $0.resource.kind == .prompt) && $0.reasons.contains { $0.hasPrefix("gates must pass") } }.count
        self.summary = Summary(
            desiredChanges: desiredChanges.count, actions: changes.count, jobRuns: changes.filter { $0.action == .run }.count,
            gates: gates, deletions: changes.filter { $0.action == .delete }.count, blocked: changes.filter { $0.action == .blocked }.count,
            drift: drift.count)
    }
}

public struct ResourceChange: Codable, Sendable, Hashable {
    public enum Change: String, Codable, Sendable { case added, removed, modified }
    public var resource: String
    public var change: Change
    public var fields: [FieldChange]

    public init(resource: String, change: Change, fields: [FieldChange]) {
        self.resource = resource
        self.change = change
        self.fields = fields
    }
}

public struct DriftEntry: Codable, Sendable, Hashable {
    public var resource: ResourceID
    public var applied: JSONValue?
    public var actual: JSONValue?
    public var description: String

    public init(resource: ResourceID, applied: JSONValue?, actual: JSONValue?, description: String) {
        self.resource = resource
        self.applied = applied
        self.actual = actual
        self.description = description
    }
}
