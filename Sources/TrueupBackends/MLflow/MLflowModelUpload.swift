import Foundation
import TrueupCore

/// Puts a model's files into MLflow as a run's artifacts, so the version registered from that run
/// is readable by MLflow and its clients (`mlflow.artifacts.download_artifacts("models:/NAME/V")`)
/// and, in the UI, leads from the version to the run, its tags and files.
///
/// The run lives in the experiment `trueup/<environment>` and carries the registration's
/// idempotency tag: an apply killed during the upload finds the same run again and finishes it
/// (uploading a file again replaces it), so a retry never leaves two runs for one version.
struct MLflowModelUpload: Sendable {
    let client: MLflowClient
    let environment: String

    struct Uploaded: Sendable {
        var runID: String
        /// `mlflow-artifacts:/<experiment>/<run>/artifacts/model`
        var source: String
    }

    var experimentName: String { "trueup/\(environment)" }

    func upload(folder: String, key: String, name: String, tags: [String: String], metrics: [String: Double] = [:], params: [String: String] = [:]) async throws -> Uploaded {
        let experiment = try await experimentID()
        let run = try await findOrCreateRun(experiment: experiment, key: key, name: name, tags: tags)
        try await logMetricsAndParams(run: run.run_id, metrics: metrics, params: params)
        guard let root = run.artifact_uri, root.hasPrefix("mlflow-artifacts:/") else {
            throw BackendError("MLflow at \(client.server): run \(run.run_id) stores artifacts at \(run.artifact_uri ?? "nowhere"), not through the server's artifact proxy: start the server with --artifacts-destination (or --serve-artifacts) so trueup can upload model files")
        }
        let base = String(root.dropFirst("mlflow-artifacts:/".count)).trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/model"
        for file in try Self.files(in: folder) {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(file))))
            try await client.putArtifact("\(base)/\(file)", bytes: bytes)
        }
        let now = JSONValue.integer(Int64(Date().timeIntervalSince1970 * 1000))
        try await client.post("runs/update", .object(["run_id": .string(run.run_id), "status": .string("FINISHED"), "end_time": now]))
        return Uploaded(runID: run.run_id, source: "mlflow-artifacts:/\(base)")
    }

    /// The training run's `metrics.json` and parameters, in one `runs/log-batch` (at most 1,000
    /// metrics and 100 params per call, as MLflow allows). Logging a param again with the same
    /// value is accepted, so a retried upload logs the batch again harmlessly.
    func logMetricsAndParams(run: String, metrics: [String: Double], params: [String: String]) async throws {
        guard !metrics.isEmpty || !params.isEmpty else { return }
        let time = JSONValue.integer(Int64(Date().timeIntervalSince1970 * 1000))
        let metricList = metrics.sorted { $0.key < $1.key }.filter { $0.value.isFinite }.prefix(1000).map { name, value -> JSONValue in
            .object(["key": .string(name), "value": .number(value), "timestamp": time, "step": .integer(0)])
        }
        // MLflow caps a param's value at 6,000 characters.
        let paramList = params.sorted { $0.key < $1.key }.prefix(100).map { name, value -> JSONValue in
            .object(["key": .string(name), "value": .string(String(value.prefix(6000)))])
        }
        do {
            try await client.post("runs/log-batch", .object(["run_id": .string(run), "metrics": .array(Array(metricList)), "params": .array(Array(paramList))]))
        } catch let error as MLflowError where error.code == "INVALID_PARAMETER_VALUE" && error.message.contains("param") {
            // A resumed upload whose run already holds these params under other values (a trueup
            // of another version logged them first): the metrics still go in.
            try await client.post("runs/log-batch", .object(["run_id": .string(run), "metrics": .array(Array(metricList))]))
        }
    }

    /// The environment's experiment, created on first use (another trueup may create it at the
    /// same time: "already exists" means look it up again).
    func experimentID() async throws -> String {
        do {
            return try await client.get("experiments/get-by-name", query: [("experiment_name", experimentName)], as: MLflowAPI.ExperimentAnswer.self).experiment.experiment_id
        } catch let error as MLflowError where error.isNotFound {}
        do {
            return try await client.post("experiments/create", .object(["name": .string(experimentName)]), as: MLflowAPI.CreatedExperiment.self).experiment_id
        } catch let error as MLflowError where error.isAlreadyExists {
            return try await client.get("experiments/get-by-name", query: [("experiment_name", experimentName)], as: MLflowAPI.ExperimentAnswer.self).experiment.experiment_id
        }
    }

    func findOrCreateRun(experiment: String, key: String, name: String, tags: [String: String]) async throws -> MLflowAPI.RunInfo {
        let search: JSONValue = .object([
            "experiment_ids": .array([.string(experiment)]),
            "filter": .string("tags.`\(MLflowTags.idempotency)` = '\(key)'"),
            "max_results": .integer(1),
        ])
        if let earlier = try await client.post("runs/search", search, as: MLflowAPI.RunSearch.self).runs?.first { return earlier.info }
        // The engine's lineage tags (commit, job, identity, environment) go on the run too, so the
        // run explains itself in MLflow's UI.
        var runTags = tags.filter { $0.key.hasPrefix("trueup.") }
        runTags[MLflowTags.idempotency] = key
        if runTags["trueup.candidate.version"] == nil { runTags["trueup.model"] = name }
        let body: JSONValue = .object([
            "experiment_id": .string(experiment),
            "run_name": .string(tags["trueup.job"].map { tags["trueup.candidate.version"] == nil ? "\($0) → \(name)" : "\($0) of \(name)" } ?? name),
            "start_time": .integer(Int64(Date().timeIntervalSince1970 * 1000)),
            "tags": MLflowTags.json(runTags),
        ])
        // Not retried blindly: a create whose answer was lost is found by its tag first.
        do {
            return try await client.post("runs/create", body, as: MLflowAPI.RunAnswer.self, retrying: false).run.info
        } catch let error as MLflowError where error.transient {
            try await Task.sleep(for: .milliseconds(500))
            if let earlier = try await client.post("runs/search", search, as: MLflowAPI.RunSearch.self).runs?.first { return earlier.info }
            return try await client.post("runs/create", body, as: MLflowAPI.RunAnswer.self).run.info
        }
    }

    /// Every regular file below `folder`, as relative paths, sorted.
    static func files(in folder: String) throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else {
            throw BackendError("cannot read the model folder \(folder)")
        }
        var files: [String] = []
        while let item = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(item), isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(item)
            }
        }
        return files.sorted()
    }
}
