import ArgumentParser
import Foundation
import TrueupBackends
import TrueupCore
import TrueupEngine
import TrueupStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each environment's observed health, applied revision, conditions, assets and model lineage.",
        discussion: "Health (Healthy, Progressing, Missing, Degraded, Unknown) is read from the serving backends now; the rest from trueup's state. Exit 0 whatever the health; `trueup drift` exits 3 on drift."
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "Only this environment.")
    var env: String?

    @Option(name: .long, help: "text or json.")
    var format: OutputFormat = .text

    func run() async throws {
        let report = try await reportingErrors { () -> StatusReport in
            let workspace = try repository.workspace()
            var health: [String: EnvironmentHealth] = [:]
            var registries: [String: RegistryState] = [:]
            for status in try workspace.store.allEnvironmentStatuses() where env == nil || status.name == env {
                // The settings it was applied with, read from git once: they choose the serving
                // backend to ask for health and the registry to read lineage from.
                let settings = try? AppliedSettings.of(environment: status.name, workspace: workspace)
                health[status.name] = await ServingHealth.check(environment: status.name, workspace: workspace, settings: settings)
                // Lineage of a registry that is not the local one (MLflow) is read from it.
                if let settings, settings.registry.type != .local {
                    let models = Set(try workspace.store.appliedResources(environment: status.name).filter { $0.key.kind == .model }.compactMap { $0.value.registryName })
                    registries[status.name] = try? await workspace.backends(for: settings).registry.observe(models: models, prompts: [])
                }
            }
            return try StatusReport.gather(workspace: workspace, only: env, health: health, registries: registries, hintFlags: repository.hintFlags)
        }
        if format == .json {
            print(report.json.prettyJSON)
        } else {
            print(report.text, terminator: "")
        }
    }
}

/// What `status` shows: health as the serving backends report it now (gathered by the caller),
/// everything else from the state store.
struct StatusReport {
    var json: JSONValue
    var text: String

    static func gather(workspace: Workspace, only: String?, health: [String: EnvironmentHealth] = [:], registries: [String: RegistryState] = [:],
                       hintFlags: String = "") throws -> StatusReport {
        let store = workspace.store
        // Deployments, versions and runs as the local backend recorded them.
        let local = try LocalBackendStore(store: store)
        var statuses = try store.allEnvironmentStatuses()
        if let only { statuses = statuses.filter { $0.name == only } }
        var text = ""
        var environments: [JSONValue] = []
        if statuses.isEmpty { text += "nothing applied yet\(only.map { " to \($0)" } ?? ""): run `trueup apply --env ENV\(hintFlags)`\n" }
        for status in statuses {
            let applied = try store.appliedResources(environment: status.name)
            let deployments = try local.deployments(environment: status.name)
            let observed = health[status.name]
            let byResource = Dictionary((observed?.deployments ?? []).map { ($0.resource, $0) }, uniquingKeysWith: { a, _ in a })
            text += "Environment \(status.name)\n"
            if let observed { text += "  health:         \(observed.summary)\n" }
            text += "  last applied:   \(status.lastAppliedCommit.map { String($0.prefix(12)) } ?? "never")\(status.lastAppliedAt.map { " at \(Self.time($0))" } ?? "")\n"
            text += "  last attempted: \(status.lastAttemptedCommit.map { String($0.prefix(12)) } ?? "never")\(status.lastAttemptedAt.map { " at \(Self.time($0))" } ?? "")\n"
            for condition in status.conditions {
                text += "  \(condition.type): \(condition.status ? "True" : "False") (\(condition.reason)) \(condition.message)\n"
            }
            let notifications = try store.notificationBacklog(environment: status.name)
            text += NotificationBacklogLines.text(notifications)
            var resources: [JSONValue] = []
            for (id, resource) in applied.sorted(by: { $0.key < $1.key }) {
                let summary = resource.summary ?? .null
                text += "  \(id.description.padding(toLength: 36, withPad: " ", startingAt: 0)) \(Self.describe(summary))\n"
                var entry: [String: JSONValue] = ["resource": .string(id.description), "state": summary, "appliedCommit": .string(resource.appliedCommit)]
                if id.kind == .deployment, let seen = byResource[id.description] {
                    // What the backend reports now, not what the last apply recorded.
                    entry["health"] = .string(seen.status.rawValue)
                    if let message = seen.message { entry["healthMessage"] = .string(message) }
                    if let endpoint = seen.endpoint { entry["endpoint"] = .string(endpoint) }
                    entry["pid"] = seen.pid.map { .integer(Int64($0)) } ?? .null
                    switch seen.status {
                    case .healthy:
                        text += "      \(seen.status.rawValue): serving at \(seen.endpoint ?? "?")\(seen.pid.map { " (pid \($0))" } ?? "")\n"
                    default:
                        text += "      \(seen.status.rawValue): \(seen.message ?? "")\n"
                    }
                } else if id.kind == .deployment, let running = deployments[id.name] {
                    entry["endpoint"] = .string(running.record.endpoint)
                    text += "      applied at \(running.record.endpoint) (health not observed)\n"
                }
                if id.kind == .model, let name = resource.registryName, let version = summary["version"]?.stringValue,
                   let info = try (registries[status.name] ?? local.registryState(models: [name], prompts: [])).models[name]?.versions[version] {
                    let lineage = Self.lineage(info, store: local)
                    text += lineage.text
                    entry["lineage"] = lineage.json
                }
                resources.append(.object(entry))
            }
            environments.append(.object([
                "name": .string(status.name),
                "health": observed.map { .object(["status": .string($0.status.rawValue), "summary": .string($0.summary), "observedAt": .string(Self.time($0.observedAt))]) } ?? .null,
                "lastAppliedCommit": status.lastAppliedCommit.map(JSONValue.string) ?? .null,
                "lastAttemptedCommit": status.lastAttemptedCommit.map(JSONValue.string) ?? .null,
                "conditions": .array(status.conditions.map { .object(["type": .string($0.type), "status": .bool($0.status), "reason": .string($0.reason), "message": .string($0.message)]) }),
                "resources": .array(resources),
                "notifications": NotificationBacklogLines.json(notifications),
            ]))
        }
        return StatusReport(json: .object(["environments": .array(environments)]), text: text)
    }

    static func describe(_ summary: JSONValue) -> String {
        guard let object = summary.objectValue else { return summary.canonicalJSON }
        return object.keys.sorted().map { key in
            let value = object[key]!.stringValue ?? object[key]!.canonicalJSON
            return "\(key)=\(value.count == 64 ? String(value.prefix(12)) : value)"
        }.joined(separator: " ")
    }

    /// A model version's lineage: the run that produced it, that run's code tree and inputs, the commit.
    static func lineage(_ info: ModelVersionInfo, store: LocalBackendStore) -> (text: String, json: JSONValue) {
        var text = "      version \(info.version): \(info.location)\n"
        var json: [String: JSONValue] = ["version": .string(info.version), "location": .string(info.location)]
        if let source = info.tags["trueup.source"], source.hasPrefix("job:") {
            let identity = String(source.dropFirst(4))
            text += "      produced by Job/\(info.tags["trueup.job"] ?? "?") run \(identity.prefix(12)) at commit \(info.tags["trueup.commit"]?.prefix(12) ?? "?")\n"
            json["run"] = .string(identity)
            json["commit"] = info.tags["trueup.commit"].map(JSONValue.string) ?? .null
            if let run = try? store.jobRun(identity: identity) {
                text += "      code tree \(run.codeTree.prefix(12)); inputs: \(run.inputs.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value.prefix(12))" }.joined(separator: ", "))\n"
                json["codeTree"] = .string(run.codeTree)
                json["inputs"] = .object(run.inputs.mapValues { .string($0) })
            }
        }
        let gates = info.tags.filter { $0.key.hasPrefix("trueup.gate") }.sorted { $0.key < $1.key }
        if !gates.isEmpty {
            text += "      gates: \(gates.map { "\($0.key.replacingOccurrences(of: "trueup.", with: ""))=\($0.value)" }.joined(separator: ", "))\n"
            json["gates"] = .object(Dictionary(uniqueKeysWithValues: gates.map { ($0.key, JSONValue.string($0.value)) }))
        }
        return (text, .object(json))
    }

    static func time(_ t: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t))
    }
}
