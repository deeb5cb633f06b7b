import Foundation
import TrueupCore

/// What a resource stands for once known: the value its dependents are planned and run against.
public struct Resolution: Sendable, Hashable {
    /// Dataset: content sha256. Job: run identity. Model/Prompt: registry version. Deployment: config hash.
    public var version: String?
    /// Dataset: its file. Job: its output folder. Model: the version's files. Prompt: a file holding the template.
    public var location: String?

    public init(version: String? = nil, location: String? = nil) {
        self.version = version
        self.location = location
    }

    public static let unknown = Resolution()
}

/// The rules that turn a resource plus its dependencies' resolutions into identities and hashes.
/// Shared by the planner (where some values are still unknown) and the executor (where all are
/// known by the time a resource's turn comes), so plan and apply can never disagree.
struct Resolver: Sendable {
    let environment: DesiredEnvironment
    let inputs: PlanningInputs
    let commit: String
    /// Jobs whose output some resource claims (`fromJob`): they must run even when `trigger: manual`.
    let claimedJobs: Set<String>

    init(environment: DesiredEnvironment, inputs: PlanningInputs, commit: String) {
        self.environment = environment
        self.inputs = inputs
        self.commit = commit
        self.claimedJobs = Set(environment.resources.values.compactMap { $0.spec["fromJob"]?.stringValue })
    }

    /// The input name -> version map of a job, or nil when an input is known only after apply.
    func inputVersions(of job: Resource, _ resolved: [ResourceID: Resolution]) -> [String: String]? {
        var versions: [String: String] = [:]
        for name in job.spec["inputs"]?["datasets"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            guard let v = resolved[ResourceID(.dataset, name)]?.version else { return nil }
            versions["dataset:\(name)"] = v
        }
        for name in job.spec["inputs"]?["models"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            guard let v = resolved[ResourceID(.model, name)]?.version else { return nil }
            versions["model:\(name)"] = v
        }
        return versions
    }

    /// identity = hash(environment, resolved spec, code tree id, resolved input versions) (DESIGN §2).
    func jobIdentity(_ job: Resource, _ resolved: [ResourceID: Resolution], candidate: String? = nil) -> String? {
        guard let versions = inputVersions(of: job, resolved) else { return nil }
        let code = job.spec["code"]?.stringValue ?? ""
        var parts: [String: JSONValue] = [
            "environment": .string(environment.name),
            "spec": job.spec,
            "codeTree": .string(inputs.codeTrees[code] ?? ""),
            "inputs": .object(versions.mapValues { .string($0) }),
        ]
        if let candidate { parts["candidate"] = .string(candidate) }
        return ContentDigest.sha256(JSONValue.object(parts).canonicalJSON)
    }

    func promptContent(_ prompt: Resource) -> (template: String, config: JSONValue) {
        let template = prompt.spec["template"]?.stringValue ?? prompt.spec["templateFile"]?.stringValue.flatMap { inputs.texts[$0] } ?? ""
        var config = prompt.spec["modelConfig"]?.objectValue ?? [:]
        config["type"] = prompt.spec["type"] ?? .string("text")
        return (template, .object(config))
    }

    func deploymentHash(_ deployment: Resource, assetVersion: String) -> String {
        let code = deployment.spec["code"]?.stringValue ?? ""
        let parts: JSONValue = .object([
            "environment": .string(environment.name),
            "spec": deployment.spec,
            "codeTree": .string(inputs.codeTrees[code] ?? ""),
            "asset": .string(assetVersion),
        ])
        return ContentDigest.sha256(parts.canonicalJSON)
    }

    func registryName(_ resource: Resource) -> String {
        resource.spec["registryName"]?.stringValue ?? resource.id.name
    }

    func alias(_ resource: Resource) -> String {
        resource.spec["alias"]?.stringValue ?? environment.name
    }

    /// The resource a Deployment serves.
    func servedAsset(_ deployment: Resource) -> ResourceID? {
        if let model = deployment.spec["model"]?.stringValue { return ResourceID(.model, model) }
        if let prompt = deployment.spec["prompt"]?.stringValue { return ResourceID(.prompt, prompt) }
        return nil
    }

    func timeout(_ job: Resource) -> Double {
        job.spec["timeout"]?.stringValue.flatMap(DurationSyntax.seconds) ?? 3600
    }
}
