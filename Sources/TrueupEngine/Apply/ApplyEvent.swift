import TrueupCore

/// Progress of an apply, for live output on a terminal and plain lines elsewhere.
public enum ApplyEvent: Sendable {
    case started(ResourceID, PlannedChange.Action)
    case succeeded(ResourceID, PlannedChange.Action, seconds: Double, detail: String?)
    case failed(ResourceID, PlannedChange.Action, error: String)
    case skipped(ResourceID, reason: String)
    case note(String)
}

/// The outcome of one apply.
public struct ApplyResult: Sendable {
    public var runID: Int64
    public var plan: Plan
    public var failures: [ResourceID: String]
    public var skipped: [ResourceID: String]

    public var succeeded: Bool { failures.isEmpty && skipped.isEmpty }

    public init(runID: Int64, plan: Plan, failures: [ResourceID: String], skipped: [ResourceID: String]) {
        self.runID = runID
        self.plan = plan
        self.failures = failures
        self.skipped = skipped
    }
}
