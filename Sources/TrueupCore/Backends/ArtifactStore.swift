/// Where job outputs and the inputs of later steps live (DESIGN §7, Artifacts): one store per
/// environment. Steps hand each other `ArtifactReference`s, never paths guessed from trueup's state
/// folder, so a job may run where trueup's disk is not (Ray) and a model may live in MLflow.
///
/// An artifact is a folder, identified by the digest of its content. URIs are the store's own and
/// are opaque to the engine; each implementation documents its scheme:
/// - local (`LocalArtifactStore`): `file:///<state>/artifacts/sha256/<hex>`;
/// - a shared path: `file:///<mount>/sha256/<hex>`;
/// - MLflow: `mlflow-artifacts:/...` through the tracking server's artifact proxy.
public protocol ArtifactStore: Sendable {
    /// Copies `folder` (every file below it, empty ones included; empty sub-folders too) into the
    /// store and returns its digest and URI. Same content, same reference: putting it again (also
    /// concurrently) stores nothing new. `lineage` records which run produced it.
    func put(folder: String, lineage: ArtifactLineage?) async throws -> ArtifactReference
    /// Makes the artifact available as a local folder and returns that folder's path, after
    /// checking that its content still has the reference's digest. Callers only read the folder.
    /// An unknown digest or a changed content is an `ArtifactError`.
    func get(_ reference: ArtifactReference) async throws -> String
    /// The digest a local file or folder would get from `put` (`sha256:<hex>`), without storing it.
    func digest(ofPath path: String) throws -> String
    /// The URI under which this store keeps (or would keep) the artifact with this digest.
    func uri(forDigest digest: String) -> String
    /// The reference behind one of this store's URIs; nil when the URI is not one of them (a path
    /// recorded by an older trueup, an external `s3://` artifact): such locations pass as they are.
    func reference(forURI uri: String) -> ArtifactReference?
    /// Which runs produced this digest, oldest first.
    func lineage(ofDigest digest: String) async throws -> [ArtifactLineage]
}

/// An artifact: what it holds (the digest) and where the store keeps it (the URI).
public struct ArtifactReference: Codable, Sendable, Hashable {
    /// `sha256:<64 hex digits>` over the folder's manifest (see `ArtifactDigest`).
    public var digest: String
    public var uri: String

    public init(digest: String, uri: String) {
        self.digest = digest
        self.uri = uri
    }
}

/// Which run produced an artifact, and as what (`model`, `data`, `metrics`).
public struct ArtifactLineage: Codable, Sendable, Hashable {
    public var run: String
    public var environment: String
    public var job: String
    public var commit: String
    public var role: String

    public init(run: String, environment: String, job: String, commit: String, role: String) {
        self.run = run
        self.environment = environment
        self.job = job
        self.commit = commit
        self.role = role
    }
}

/// An artifact that cannot be stored or handed out; says which and what to do.
public struct ArtifactError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The parts of a job's output (DESIGN §2): `model/`, `data/`, and `metrics.json` (stored as a
/// folder holding that one file). These are the keys of `JobRunRecord.outputs`.
public enum JobOutputPart: String, Sendable, CaseIterable {
    case model
    case data
    case metrics
}
