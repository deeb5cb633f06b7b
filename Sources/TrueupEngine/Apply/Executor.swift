import Foundation
import Synchronization
import TrueupCore
import TrueupStore

/// Carries out a plan's changes in dependency order, independent ones in parallel (bounded).
/// A failed or blocked change skips what depends on it, with the reason; the rest continues.
struct Executor: Sendable {
    let workspace: Workspace
    let planned: Reconciler.Planned
    let runID: Int64
    let progress: @Sendable (ApplyEvent) -> Void
    /// Runs finished during this apply, by identity: later steps read their outputs from here.
    let finishedRuns = FinishedRuns()
    /// Gates that did not pass during this apply, for the `gate-failed` notification.
    let failedGates = FailedGates()

    struct Outcome: Sendable {
        var failures: [ResourceID: String] = [:]
        var skipped: [ResourceID: String] = [:]
        var deleted: [ResourceID] = []
    }

    var resolver: Resolver { Resolver(environment: planned.environment, inputs: planned.inputs, commit: planned.plan.commit) }
    var environment: DesiredEnvironment { planned.environment }
    var commit: String { planned.plan.commit }
    var store: StateStore { workspace.store }

    func run(maxParallel: Int) async -> Outcome {
        var outcome = Outcome()
        var resolved = planned.resolutions
        var finished = Set<ResourceID>()
        var remaining = planned.plan.changes
        let planned = Set(remaining.map(\.resource))
        var inFlight = 0

        await withTaskGroup(of: (PlannedChange, Result<Resolution?, ActionFailure>).self) { group in
            while !remaining.isEmpty || inFlight > 0 {
                var index = 0
                while index < remaining.count {
                    let change = remaining[index]
                    let deps = change.dependsOn.filter { planned.contains($0) }
                    if let bad = deps.first(where: { outcome.failures[$0] != nil || outcome.skipped[$0] != nil }) {
                        let reason = "it depends on \(bad), which \(outcome.failures[bad] != nil ? "failed" : "was not applied")"
                        outcome.skipped[change.resource] = reason
                        try? store.recordSkipped(runID: runID, resource: change.resource.description, action: change.action.rawValue, reason: reason, at: Date().timeIntervalSince1970)
                        progress(.skipped(change.resource, reason: reason))
                        remaining.remove(at: index)
                        continue
                    }
                    guard deps.allSatisfy(finished.contains) else { index += 1; continue }
                    switch change.action {
                    case .noop:
                        finished.insert(change.resource)
                        remaining.remove(at: index)
                        continue
                    case .blocked:
                        let reason = "blocked: \(change.reasons.first ?? "see the plan")"
                        outcome.skipped[change.resource] = reason
                        try? store.recordSkipped(runID: runID, resource: change.resource.description, action: change.action.rawValue, reason: reason, at: Date().timeIntervalSince1970)
                        progress(.skipped(change.resource, reason: reason))
                        remaining.remove(at: index)
                        continue
                    default:
                        guard inFlight < maxParallel else { index += 1; continue }
                        remaining.remove(at: index)
                        inFlight += 1
                        let snapshot = resolved
                        group.addTask { (change, await self.perform(change, resolved: snapshot)) }
                    }
                }
                guard inFlight > 0 else {
                    // Nothing runnable and nothing running: only changes waiting on each other remain.
                    for change in remaining {
                        outcome.skipped[change.resource] = "its dependencies could not be ordered"
                    }
                    remaining.removeAll()
                    break
                }
                if let (change, result) = await group.next() {
                    inFlight -= 1
                    switch result {
                    case .success(let resolution):
                        if let resolution { resolved[change.resource] = resolution }
                        if change.action == .delete { outcome.deleted.append(change.resource) }
                        finished.insert(change.resource)
                    case .failure(let failure):
                        outcome.failures[change.resource] = failure.message
                    }
                }
            }
        }
        return outcome
    }

    struct ActionFailure: Error, Sendable {
        var message: String
    }

    /// One change: intent, side effect (with retries for transient errors), outcome.
    func perform(_ change: PlannedChange, resolved: [ResourceID: Resolution]) async -> Result<Resolution?, ActionFailure> {
        let started = Date()
        let key = idempotencyKey(change, resolved)
        let actionID: Int64
        do {
            actionID = try store.recordIntent(runID: runID, resource: change.resource.description, action: change.action.rawValue, idempotencyKey: key, at: started.timeIntervalSince1970)
        } catch {
            return .failure(ActionFailure(message: "cannot record the intent in the state database: \(error)"))
        }
        progress(.started(change.resource, change.action))
        var attempts = 0
        while true {
            attempts += 1
            do {
                let resolution = try await act(change, resolved: resolved)
                let seconds = Date().timeIntervalSince(started)
                try? store.recordOutcome(actionID: actionID, status: .succeeded, error: nil, logPath: resolution?.logPath, resultJSON: resolution.map { JSONValue.object(["version": $0.resolution.version.map(JSONValue.string) ?? .null, "location": $0.resolution.location.map(JSONValue.string) ?? .null]).canonicalJSON }, attempts: attempts, at: Date().timeIntervalSince1970)
                progress(.succeeded(change.resource, change.action, seconds: seconds, detail: resolution?.detail))
                return .success(resolution?.resolution)
            } catch let error as BackendError where error.transient && attempts < 3 {
                // Transient: back off and try again (DESIGN §3).
                try? await Task.sleep(nanoseconds: UInt64(500_000_000 * (1 << (attempts - 1))))
                continue
            } catch {
                let message = (error as? ActionError)?.message ?? "\(error)"
                try? store.recordOutcome(actionID: actionID, status: .failed, error: message, logPath: (error as? ActionError)?.logPath, resultJSON: nil, attempts: attempts, at: Date().timeIntervalSince1970)
                progress(.failed(change.resource, change.action, error: message))
                return .failure(ActionFailure(message: message))
            }
        }
    }

    func idempotencyKey(_ change: PlannedChange, _ resolved: [ResourceID: Resolution]) -> String {
        if change.resource.kind == .job, let resource = environment.resources[change.resource], let identity = resolver.jobIdentity(resource, resolved) {
            return "job:\(identity)"
        }
        return "\(environment.name)/\(change.resource)@\(commit)"
    }

    struct Done: Sendable {
        var resolution: Resolution
        var detail: String?
        var logPath: String?
    }

    struct ActionError: Error, CustomStringConvertible {
        var message: String
        var logPath: String?
        var description: String { message }
    }

    func act(_ change: PlannedChange, resolved: [ResourceID: Resolution]) async throws -> Done? {
        if change.action == .delete { try await delete(change); return nil }
        guard let resource = environment.resources[change.resource] else { return nil }
        switch resource.typed {
        case .dataset(let spec): return try await applyDataset(resource, spec, resolved)
        case .job: return try await runJob(resource, resolved, candidate: nil)
        case .model(let spec): return try await applyModel(resource, spec, resolved)
        case .prompt(let spec): return try await applyPrompt(resource, spec, resolved)
        case .deployment(let spec): return try await applyDeployment(resource, spec, resolved)
        }
    }

    // MARK: - Datasets

    func applyDataset(_ r: Resource, _ spec: DatasetSpec, _ resolved: [ResourceID: Resolution]) async throws -> Done {
        let data = planned.backends.data
        if let path = spec.path {
            let scratch = (workspace.stateDirectory as NSString).appendingPathComponent("tmp/\(UUID().uuidString)")
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let file = (scratch as NSString).appendingPathComponent((path as NSString).lastPathComponent)
            let normal = (try? RepoPath.normalise(path).get()) ?? path
            _ = FileManager.default.createFile(atPath: file, contents: Data(try CodeExport.file(repository: workspace.repositoryRoot, commit: commit, path: normal)))
            try await validateDataset(r, spec, candidate: file, resolved)
            let version = try await data.register(DatasetRegistration(environment: environment.name, name: r.id.name, sourcePath: file,
                                                                      expectedSHA256: spec.sha256 ?? planned.inputs.fileDigests[path], producingRun: nil))
            return Done(resolution: Resolution(version: version.version, location: version.location), detail: "version \(version.version.prefix(12))")
        }
        if let uri = spec.uri {
            guard uri.hasPrefix("file://") else {
                throw ActionError(message: "the local data backend reads only file:// URIs, not \(uri): copy the data locally or use another data backend")
            }
            try await validateDataset(r, spec, candidate: String(uri.dropFirst(7)), resolved)
            let version = try await data.register(DatasetRegistration(environment: environment.name, name: r.id.name, sourcePath: String(uri.dropFirst(7)),
                                                                      expectedSHA256: spec.sha256, producingRun: nil))
            return Done(resolution: Resolution(version: version.version, location: version.location), detail: "version \(version.version.prefix(12))")
        }
        let job = ResourceID(.job, spec.fromJob ?? "")
        let (run, output) = try await jobOutput(job, .data, resolved)
        let folder = try await planned.backends.artifacts.get(output)
        try await validateDataset(r, spec, candidate: folder, resolved)
        let version = try await data.register(DatasetRegistration(environment: environment.name, name: r.id.name, sourcePath: folder, expectedSHA256: nil, producingRun: run.identity))
        return Done(resolution: Resolution(version: version.version, location: version.location), detail: "version \(version.version.prefix(12)) from \(job)")
    }

    /// `spec.validate`: a job that must pass on the candidate data before it becomes current.
    func validateDataset(_ r: Resource, _ spec: DatasetSpec, candidate path: String, _ resolved: [ResourceID: Resolution]) async throws {
        guard let jobName = spec.validate, let job = environment.resources[ResourceID(.job, jobName)] else { return }
        // The hex alone, as the key always was: a file's is its sha256, as in the data catalog.
        let digest = (try? planned.backends.artifacts.digest(ofPath: path)).map { String($0.dropFirst(ArtifactDigestPrefix.text.count)) } ?? path
        do {
            _ = try await runJob(job, resolved, candidate: (variable: Self.inputVariable(r.id.name), key: "dataset:\(r.id.name):\(digest)", location: path))
        } catch let error as ActionError {
            throw ActionError(message: "validation Job/\(jobName) rejected the new data of \(r.id), which stays at its previous version: \(error.message)", logPath: error.logPath)
        }
    }

    // MARK: - Jobs

    static func inputVariable(_ name: String) -> String {
        "TRUEUP_INPUT_" + String(name.uppercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "_" })
    }

    func runJob(_ job: Resource, _ resolved: [ResourceID: Resolution], candidate: (variable: String, key: String, location: String)?) async throws -> Done {
        guard let identity = resolver.jobIdentity(job, resolved, candidate: candidate?.key) else {
            throw ActionError(message: "an input of \(job.id) is still unknown: its producer did not run")
        }
        guard let spec = job.job else { throw ActionError(message: "\(job.id) is not a Job: only a Job can run") }
        var variables = spec.env
        variables["TRUEUP_ENV"] = environment.name
        variables["TRUEUP_COMMIT"] = commit
        var inputs: [String: String] = [:]
        for input in spec.inputs {
            guard let location = resolved[input]?.location else {
                throw ActionError(message: "input \(input) of \(job.id) has no location yet")
            }
            variables[Self.inputVariable(input.name)] = try await handOver(location, localPaths: planned.backends.jobs.passesLocalPaths)
            inputs[input.name] = resolved[input]?.version
        }
        if let candidate { variables[candidate.variable] = try await handOver(candidate.location, localPaths: planned.backends.jobs.passesLocalPaths) }
        let code = spec.code
        let repository = workspace.repositoryRoot
        let commit = self.commit
        let codePath = (try? RepoPath.normalise(code).get()) ?? code
        let request = JobRunRequest(
            identity: identity, environment: environment.name, job: job.id.name, commit: commit,
            codeTree: planned.inputs.codeTrees[code] ?? "",
            materializeCode: { folder in try CodeExport.export(repository: repository, commit: commit, path: codePath, to: folder) },
            command: spec.command,
            environmentVariables: variables, inputs: inputs, candidate: candidate?.key,
            timeoutSeconds: spec.timeoutSeconds, retries: spec.retries, resources: JobResources(spec: job.spec["resources"]))
        let record = try await planned.backends.jobs.run(request)
        guard record.status == .succeeded else {
            throw ActionError(message: "\(job.id) failed: \(record.error ?? "exit code \(record.exitCode ?? -1)"); its log: \(record.logPath) (`trueup logs \(identity.prefix(12))`)", logPath: record.logPath)
        }
        finishedRuns.add(record)
        return Done(resolution: Resolution(version: identity, location: record.outputLocation), detail: "run \(identity.prefix(12))", logPath: record.logPath)
    }

    // MARK: - Models and prompts

    func applyModel(_ r: Resource, _ spec: ModelSpec, _ resolved: [ResourceID: Resolution]) async throws -> Done {
        let registry = planned.backends.registry
        let name = r.registryName
        let alias = r.alias
        var info: ModelVersionInfo
        if let version = spec.version {
            guard let existing = try await registry.observe(models: [name], prompts: []).models[name]?.versions[version] else {
                throw ActionError(message: "version \(version) of model \(name) does not exist in the registry")
            }
            info = existing
        } else if let jobName = spec.fromJob {
            let job = ResourceID(.job, jobName)
            let (run, output) = try await jobOutput(job, .model, resolved)
            let identity = run.identity
            var tags = ["trueup.source": "job:\(identity)", "trueup.commit": commit, "trueup.environment": environment.name, "trueup.job": jobName,
                        "trueup.artifact.digest": output.digest]
            tags["trueup.lineage.codeTree"] = run.codeTree
            for (input, version) in run.inputs { tags["trueup.lineage.input.\(input)"] = version }
            // The run's parameters as the job ran: its resolved variables and command.
            var params: [String: String] = [:]
            if let jobSpec = environment.resources[job]?.job {
                params = jobSpec.env
                params["command"] = jobSpec.command.joined(separator: " ")
            }
            info = try await registry.registerModelVersion(ModelRegistration(model: name, sourceLocation: output.uri, idempotencyKey: "job:\(identity)", tags: tags, artifact: output,
                                                                            metrics: run.metrics, params: params))
        } else {
            let artifact = spec.artifact ?? ""
            info = try await registry.registerModelVersion(ModelRegistration(model: name, sourceLocation: artifact, idempotencyKey: "artifact:\(artifact)",
                                                                            tags: ["trueup.source": "artifact:\(artifact)", "trueup.commit": commit]))
        }
        let gateTags = try await runGates(spec.gates, of: r.id, resolved, candidate: (variable: "TRUEUP_CANDIDATE_MODEL", key: "model:\(name):\(info.version)", location: info.location)) { tags in
            try await registry.tagModelVersion(model: name, version: info.version, tags: tags)
        }
        _ = gateTags
        try await registry.setModelAlias(model: name, alias: alias, version: info.version)
        return Done(resolution: Resolution(version: info.version, location: info.location), detail: "alias \(alias) -> version \(info.version)")
    }

    func applyPrompt(_ r: Resource, _ spec: PromptSpec, _ resolved: [ResourceID: Resolution]) async throws -> Done {
        let registry = planned.backends.registry
        let name = r.registryName
        let alias = r.alias
        let (template, config) = resolver.promptContent(r)
        let info = try await registry.registerPromptVersion(PromptRegistration(prompt: name, template: template, config: config, tags: ["trueup.commit": commit]))
        // The candidate a gate reads is a file holding the template, handed over through the
        // artifact store like any other step's input.
        let stored = try await promptArtifact(template)
        let candidate = planned.backends.jobs.passesLocalPaths
            ? ((try await planned.backends.artifacts.get(stored)) as NSString).appendingPathComponent(Self.promptFile) : stored.uri
        _ = try await runGates(spec.gates, of: r.id, resolved, candidate: (variable: "TRUEUP_CANDIDATE_PROMPT", key: "prompt:\(name):\(info.version)", location: candidate)) { tags in
            try await registry.tagPromptVersion(prompt: name, version: info.version, tags: tags)
        }
        try await registry.setPromptAlias(prompt: name, alias: alias, version: info.version)
        return Done(resolution: Resolution(version: info.version, location: stored.uri), detail: "alias \(alias) -> version \(info.version)")
    }

    /// Runs every gate job with the candidate; all must exit 0 and meet their thresholds before the
    /// alias moves. The verdict is recorded on the version as tags, pass or fail.
    func runGates(_ gates: [Gate], of asset: ResourceID, _ resolved: [ResourceID: Resolution], candidate: (variable: String, key: String, location: String),
                  tag: (_ tags: [String: String]) async throws -> Void) async throws -> [String: String] {
        var tags: [String: String] = [:]
        for gate in gates {
            let jobName = gate.job
            guard let job = environment.resources[ResourceID(.job, jobName)] else { continue }
            let done: Done
            do {
                done = try await runJob(job, resolved, candidate: candidate)
            } catch let error as ActionError {
                failedGates.add(NotificationEvent.GateResult(asset: asset.description, job: jobName, candidate: candidate.key, metrics: [], error: error.message))
                tags["trueup.gates.\(environment.name)"] = "failed"
                tags["trueup.gates.\(environment.name).reason"] = "gate job \(jobName) failed"
                try await tag(tags)
                throw ActionError(message: "gate Job/\(jobName) failed, so the alias stays where it was: \(error.message)", logPath: error.logPath)
            }
            let record = try await planned.backends.jobs.observe(environment: environment.name).run(done.resolution.version ?? "")
            let metrics = record?.metrics ?? [:]
            var unmet: [String] = []
            // Each metric against its threshold, as the apply's progress shows it: `auc 0.81 >= 0.75 ✓`.
            var verdicts: [String] = []
            var measured: [NotificationEvent.GateResult.Metric] = []
            for (metric, threshold) in gate.metrics.compactMap({ m in m.threshold.map { (m.name, $0) } }) {
                guard let value = metrics[metric] else {
                    measured.append(.init(name: metric, value: nil, threshold: "\(threshold)", met: false))
                    unmet.append("\(metric) is missing from the gate job's metrics.json")
                    verdicts.append("\(metric) missing \(threshold) ✗")
                    continue
                }
                tags["trueup.gate.\(environment.name).\(jobName).\(metric)"] = String(value)
                let met = threshold.isMet(by: value)
                measured.append(.init(name: metric, value: value, threshold: "\(threshold)", met: met))
                if !met { unmet.append("\(metric) \(value) does not meet \(threshold)") }
                verdicts.append("\(metric) \(String(format: "%g", value)) \(threshold) \(met ? "✓" : "✗")")
            }
            let gated = Set(gate.metrics.map(\.name))
            let others = metrics.keys.filter { !gated.contains($0) }.sorted().map { "\($0) \(String(format: "%g", metrics[$0]!))" }
            progress(.note("gate Job/\(jobName) of \(asset) (run \(done.resolution.version?.prefix(12) ?? "?")): "
                + (verdicts + others).joined(separator: ", ").ifEmpty("exit 0, no metrics")))
            if !unmet.isEmpty {
                failedGates.add(NotificationEvent.GateResult(asset: asset.description, job: jobName, candidate: candidate.key, metrics: measured, error: nil))
                tags["trueup.gates.\(environment.name)"] = "failed"
                tags["trueup.gates.\(environment.name).reason"] = unmet.joined(separator: "; ")
                try await tag(tags)
                throw ActionError(message: "gate Job/\(jobName) did not pass for \(candidate.key): \(unmet.joined(separator: "; ")); the alias stays where it was", logPath: done.logPath)
            }
        }
        tags["trueup.gates.\(environment.name)"] = "passed"
        try await tag(tags)
        return tags
    }

    // MARK: - Deployments

    func applyDeployment(_ r: Resource, _ spec: DeploymentSpec, _ resolved: [ResourceID: Resolution]) async throws -> Done {
        guard let asset = spec.serves, let version = resolved[asset]?.version else {
            throw ActionError(message: "the version \(r.id) serves is unknown: its model or prompt was not applied")
        }
        var variables = spec.env
        variables["TRUEUP_ENV"] = environment.name
        variables["TRUEUP_CONFIG"] = spec.config.canonicalJSON
        if asset.kind == .model {
            variables["TRUEUP_MODEL_URI"] = try await handOver(resolved[asset]?.location ?? "", localPaths: planned.backends.serving.passesLocalPaths)
        } else if let prompt = environment.resources[asset] {
            variables["TRUEUP_PROMPT_TEMPLATE"] = resolver.promptContent(prompt).template
        }
        let code = spec.code ?? ""
        let codePath = (try? RepoPath.normalise(code).get()) ?? code
        let repository = workspace.repositoryRoot
        let commit = self.commit
        let hash = resolver.deploymentHash(r, assetVersion: version)
        let record = try await planned.backends.serving.deploy(DeploymentRequest(
            environment: environment.name, name: r.id.name, configHash: hash, assetVersion: version,
            materializeCode: { folder in try CodeExport.export(repository: repository, commit: commit, path: codePath, to: folder) },
            command: spec.command ?? [], importPath: spec.importPath,
            environmentVariables: variables, healthPath: spec.health.path,
            healthTimeoutSeconds: spec.health.timeoutSeconds,
            replicas: spec.replicas, port: spec.port, resources: JobResources(spec: r.spec["resources"])))
        return Done(resolution: Resolution(version: hash, location: record.endpoint), detail: "serving \(asset) version \(version) at \(record.endpoint)")
    }

    // MARK: - Prune

    func delete(_ change: PlannedChange) async throws {
        // What was applied names the alias that exists; a resource never recorded (a destroy
        // after the state was lost) is found by its spec.
        let last = planned.applied[change.resource]
        let declared = environment.resources[change.resource]
        let name = last?.registryName ?? declared?.registryName ?? change.resource.name
        let alias = last?.alias ?? declared?.alias ?? environment.name
        switch change.resource.kind {
        case .deployment: try await planned.backends.serving.remove(environment: environment.name, name: change.resource.name)
        case .model: try await planned.backends.registry.deleteModelAlias(model: name, alias: alias)
        case .prompt: try await planned.backends.registry.deletePromptAlias(prompt: name, alias: alias)
        case .dataset: try await planned.backends.data.remove(environment: environment.name, name: change.resource.name)
        case .job, .environment: break
        }
    }

    // MARK: - Artifacts

    /// What a location becomes for the step that reads it: an artifact of this environment's store
    /// is materialised as a local folder (checked against its digest) when the backend wants local
    /// paths, or passed as its URI; anything else (a catalog file, an external `s3://` model, a
    /// folder recorded by an older trueup) passes as it is.
    func handOver(_ location: String, localPaths: Bool) async throws -> String {
        guard let reference = planned.backends.artifacts.reference(forURI: location) else { return location }
        return localPaths ? try await planned.backends.artifacts.get(reference) : reference.uri
    }

    /// The run of `job` this apply resolved and its output `part`, from the artifact store.
    func jobOutput(_ job: ResourceID, _ part: JobOutputPart, _ resolved: [ResourceID: Resolution]) async throws -> (JobRunRecord, ArtifactReference) {
        guard resolved[job]?.location != nil, let identity = resolved[job]?.version else {
            throw ActionError(message: "\(job) has not produced output for this commit")
        }
        var run = try finishedRuns.get(identity) ?? planned.observed.jobRuns.run(identity)
        if run?.status != .succeeded { run = try await planned.backends.jobs.observe(environment: environment.name).run(identity) }
        guard let run, run.status == .succeeded else {
            throw ActionError(message: "\(job) has no successful run \(identity.prefix(12)) for this commit")
        }
        if let reference = run.outputs[part.rawValue] { return (run, reference) }
        // A run recorded before outputs went through the artifact store: its folder, if still there.
        let legacy = (run.outputLocation as NSString).appendingPathComponent(part.rawValue)
        if run.outputs.isEmpty, !run.outputLocation.contains("://"), FileManager.default.fileExists(atPath: legacy) {
            let lineage = ArtifactLineage(run: identity, environment: environment.name, job: job.name, commit: run.commit, role: part.rawValue)
            return (run, try await planned.backends.artifacts.put(folder: legacy, lineage: lineage))
        }
        let what = part == .model ? "the model under $TRUEUP_OUTPUT_DIR/model" : "its dataset under $TRUEUP_OUTPUT_DIR/data"
        throw ActionError(message: "\(job) wrote no \(part.rawValue)/ folder in its output (run \(identity.prefix(12)), log \(run.logPath)): the job must write \(what)", logPath: run.logPath)
    }

    static let promptFile = "template.txt"

    /// A prompt template as an artifact: a folder holding `template.txt`.
    func promptArtifact(_ template: String) async throws -> ArtifactReference {
        let scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("trueup-prompt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try template.write(toFile: (scratch as NSString).appendingPathComponent(Self.promptFile), atomically: true, encoding: .utf8)
        return try await planned.backends.artifacts.put(folder: scratch, lineage: nil)
    }
}

/// The gates that did not pass in one apply (collected from parallel actions).
final class FailedGates: Sendable {
    private let results = Mutex<[NotificationEvent.GateResult]>([])
    func add(_ result: NotificationEvent.GateResult) { results.withLock { $0.append(result) } }
    var all: [NotificationEvent.GateResult] { results.withLock { $0 } }
}

/// Job runs that finished during one apply, shared by its concurrent actions.
final class FinishedRuns: Sendable {
    private let runs = Mutex<[String: JobRunRecord]>([:])

    func add(_ record: JobRunRecord) { runs.withLock { $0[record.identity] = record } }
    func get(_ identity: String) -> JobRunRecord? { runs.withLock { $0[identity] } }
}

/// The prefix of an artifact digest (`sha256:<hex>`, see ArtifactStore).
enum ArtifactDigestPrefix {
    static let text = "sha256:"
}

private extension String {
    func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}
