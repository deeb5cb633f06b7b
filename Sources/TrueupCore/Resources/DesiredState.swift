import Foundation

/// What git says an environment should be, at one revision.
public struct DesiredEnvironment: Sendable {
    public var settings: EnvironmentSettings
    public var resources: [ResourceID: Resource] {
        // Levels come from the resources' dependencies: once those may differ, the planner finds
        // them again.
        didSet { levels = [] }
    }
    /// Resources in dependency order (dependencies first), ties broken by identity.
    public private(set) var order: [ResourceID]
    /// Positions in `order` by dependency level (see `DependencyGraph.topologicalOrderAndLevels`),
    /// found with the order; empty when the order is.
    public private(set) var levels: [[Int]]
    /// Where `environment.yaml` is.
    public var definedAt: SourceLocation
    /// File hashes learnt while loading the revision, so that planning hashes no dataset again.
    var lookups: RevisionLookups

    init(settings: EnvironmentSettings, resources: [ResourceID: Resource], order: [ResourceID], levels: [[Int]] = [],
         definedAt: SourceLocation, lookups: RevisionLookups) {
        self.settings = settings
        self.resources = resources
        self.order = order
        self.levels = levels
        self.definedAt = definedAt
        self.lookups = lookups
    }

    public var name: String { settings.name }
}

/// Every environment of a repository at one revision, and what was wrong with it.
public struct DesiredState: Sendable {
    public var revision: RevisionInfo
    public var environments: [String: DesiredEnvironment]
    /// Errors and warnings, sorted. An environment with errors is absent from `environments`.
    public var diagnostics: [Diagnostic]

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var isValid: Bool { errors.isEmpty }

    /// The errors that concern environment `name`: reported for it (alone or among others), or
    /// found in a file of its own folder under `specRoot`.
    public func errors(concerning name: String, specRoot: String) -> [Diagnostic] {
        errors.filter { d in
            d.environment?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains(name) ?? false
                || (d.location?.file.hasPrefix("\(specRoot)/\(name)/") ?? false)
        }
    }
}
