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
    // Cheap to make, so nothing here passes over every resource: the executor makes one per
    // resource it carries out, and the record of each applied resource one more, which made
    // such a pass quadratic in an apply. (The jobs whose output is claimed are the planner's.)
    init(environment: DesiredEnvironment, inputs: PlanningInputs, commit: String) {
        self.environment = environment
        self.inputs = inputs
        self.commit = commit
    }

    /// The input name -> version map of a job, or nil when an input is known only after apply.
    func inputVersions(of job: Resource, _ resolved: [ResourceID: Resolution]) -> [String: String]? {
        var versions: [String: String] = [:]
        for input in job.job?.inputs ?? [] {
            guard let v = resolved[input]?.version else { return nil }
            versions["\(input.kind == .dataset ? "dataset" : "model"):\(input.name)"] = v
        }
        return versions
    }

    /// identity = hash(environment, resolved spec, code tree id, resolved input versions) (DESIGN §2).
    func jobIdentity(_ job: Resource, _ resolved: [ResourceID: Resolution], candidate: String? = nil) -> String? {
        guard let versions = inputVersions(of: job, resolved) else { return nil }
        let code = job.typed.code ?? ""
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
        guard let spec = prompt.prompt else { return ("", .object([:])) }
        let template = spec.template ?? spec.templateFile.flatMap { inputs.texts[$0] } ?? ""
        return (template, spec.registeredConfig)
    }

    func deploymentHash(_ deployment: Resource, assetVersion: String) -> String {
        let code = deployment.typed.code ?? ""
        let parts: JSONValue = .object([
            "environment": .string(environment.name),
            "spec": deployment.spec,
            "codeTree": .string(inputs.codeTrees[code] ?? ""),
            "asset": .string(assetVersion),
        ])
        return ContentDigest.sha256(parts.canonicalJSON)
    }

}
