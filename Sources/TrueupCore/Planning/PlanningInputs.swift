import Foundation

/// Facts from the revision that planning needs beyond the desired state: tree ids of code folders,
/// digests of in-repo dataset files, prompt template texts. Read once from the snapshot so that
/// the planner itself does no I/O.
public struct PlanningInputs: Sendable {
    public var codeTrees: [String: String] = [:]
    public var fileDigests: [String: String] = [:]
    public var texts: [String: String] = [:]

    public init() {}

    public static func gather(_ environment: DesiredEnvironment, snapshot: SourceSnapshot) throws -> PlanningInputs {
        var inputs = PlanningInputs()
        for resource in environment.resources.values {
            if let code = resource.typed.code, inputs.codeTrees[code] == nil, case .success(let path) = RepoPath.normalise(code) {
                inputs.codeTrees[code] = try snapshot.entry(at: path)?.objectID ?? "missing"
            }
            if let path = resource.dataset?.path, inputs.fileDigests[path] == nil, case .success(let normal) = RepoPath.normalise(path) {
                inputs.fileDigests[path] = try digest(of: normal, in: snapshot, lookups: environment.lookups)
            }
            if let file = resource.prompt?.templateFile, inputs.texts[file] == nil, case .success(let normal) = RepoPath.normalise(file) {
                inputs.texts[file] = String(decoding: try snapshot.contents(of: normal), as: UTF8.self)
            }
        }
        return inputs
    }

    /// A dataset file's sha256: the one computed while loading (a pinned file is hashed to check
    /// its pin), or computed now and kept for the other environments of the load.
    private static func digest(of path: String, in snapshot: SourceSnapshot, lookups: RevisionLookups) throws -> String {
        if let entry = try snapshot.entry(at: path), let known = lookups.digest(of: entry, in: snapshot) { return known }
        return ContentDigest.sha256(try snapshot.contents(of: path))
    }
}
