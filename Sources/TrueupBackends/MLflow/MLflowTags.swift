import TrueupCore

/// The version tags trueup itself adds in MLflow (the engine's own lineage and gate tags, all
/// under `trueup.`, are written as they come).
enum MLflowTags {
    /// sha256 of the registration's idempotency key: how a retried or re-run apply finds the
    /// version (or the upload run) an earlier attempt created.
    static let idempotency = "trueup.idempotency"
    /// A prompt version's content hash (template and config): unchanged content, no new version.
    static let contentDigest = "trueup.content-digest"
    /// The artifact store URI of the files a version was uploaded from (what later steps read).
    static let artifactURI = "trueup.artifact.uri"
    /// Reported on observe only, never stored: the version's `source` in MLflow.
    static let mlflowSource = "trueup.mlflow.source"

    /// Tags as MLflow's `[{key, value}]`, in a stable order.
    static func json(_ tags: [String: String]) -> JSONValue {
        .array(tags.sorted { $0.key < $1.key }.map { .object(["key": .string($0.key), "value": .string($0.value)]) })
    }
}
