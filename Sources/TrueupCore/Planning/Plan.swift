import Foundation

/// A plan is a value (DESIGN §3): for one environment at one commit, the changes that would make
/// the actual state match the desired state, in dependency order. It can be saved, shown and applied
/// exactly; a saved plan whose commit or observed state has moved since is refused as stale.
public struct Plan: Codable, Sendable, Hashable {
    public var formatVersion: Int
    public var environment: String
    public var commit: String
    public var createdAt: Double
    /// A hash of the observed state the plan was made against: a saved plan is stale when it moved.
    public var observedFingerprint: String
    public var changes: [PlannedChange]

    public init(environment: String, commit: String, createdAt: Double, observedFingerprint: String, changes: [PlannedChange]) {
        self.formatVersion = 1
        self.environment = environment
        self.commit = commit
        self.createdAt = createdAt
        self.observedFingerprint = observedFingerprint
        self.changes = changes
    }

    /// Anything to do (blocked changes count: the environment has not converged).
    public var hasChanges: Bool { changes.contains { $0.action != .noop } }
    public var drifted: [PlannedChange] { changes.filter(\.drift) }
    public var warnings: [PlannedChange] { changes.filter { $0.warning != nil } }

    /// Counted without filtering, which would copy every matching change.
    public func count(_ action: PlannedChange.Action) -> Int { changes.reduce(0) { $1.action == action ? $0 + 1 : $0 } }
}

public struct PlannedChange: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        case create, update, delete, run, noop, blocked
    }

    public var resource: ResourceID
    public var action: Action
    /// The change corrects drift (actual state moved away from what was applied while git did not change).
    public var drift: Bool
    /// What is observed now (nil: nothing exists).
    public var before: JSONValue?
    /// What will be (nil: nothing, after a delete). Values only known after apply are `knownAfterApply`.
    public var after: JSONValue?
    public var fields: [FieldChange]
    public var reasons: [String]
    /// Something the user likely does not want, though the change is what the specs ask for
    /// (a job whose outputs nothing uses). Absent from a plan's JSON when there is none.
    public var warning: String?
    public var dependsOn: [ResourceID]

    public init(resource: ResourceID, action: Action, drift: Bool = false, before: JSONValue?, after: JSONValue?, fields: [FieldChange] = [], reasons: [String] = [], warning: String? = nil, dependsOn: [ResourceID] = []) {
        self.resource = resource
        self.action = action
        self.drift = drift
        self.before = before
        self.after = after
        self.fields = fields
        self.reasons = reasons
        self.warning = warning
        self.dependsOn = dependsOn
    }

    /// The marker a value carries when it exists only after a job has run.
    public static let knownAfterApply = "(known after apply)"
}

public struct FieldChange: Codable, Sendable, Hashable {
    public var path: String
    public var before: JSONValue?
    public var after: JSONValue?

    public init(path: String, before: JSONValue?, after: JSONValue?) {
        self.path = path
        self.before = before
        self.after = after
    }

    /// Field-by-field differences between two values (objects recurse; anything else compares whole).
    public static func diff(_ before: JSONValue?, _ after: JSONValue?, path: String = "") -> [FieldChange] {
        var changes: [FieldChange] = []
        diff(before, after, path: path, into: &changes)
        return changes
    }

    /// Appends to one array, and lists an object with nothing on the other side (every create
    /// and delete) by its own sorted keys: a set of both sides' keys and an array per level
    /// were most of what diffing 33,000 creates cost.
    private static func diff(_ before: JSONValue?, _ after: JSONValue?, path: String, into changes: inout [FieldChange]) {
        func member(_ key: String) -> String { path.isEmpty ? key : path + "." + key }
        switch (before, after) {
        case (nil, .object(let b)?):
            for key in b.keys.sorted() { diff(nil, b[key], path: member(key), into: &changes) }
        case (.object(let a)?, nil):
            for key in a.keys.sorted() { diff(a[key], nil, path: member(key), into: &changes) }
        case (.object(let a)?, .object(let b)?):
            if a == b { return }
            var keys = Array(a.keys)
            keys.append(contentsOf: b.keys.lazy.filter { a[$0] == nil })
            for key in keys.sorted() { diff(a[key], b[key], path: member(key), into: &changes) }
        default:
            if before == after { return }
            changes.append(FieldChange(path: path, before: before, after: after))
        }
    }
}
