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
            let spec = resource.spec
            if let code = spec["code"]?.stringValue, inputs.codeTrees[code] == nil, case .success(let path) = RepoPath.normalise(code) {
                inputs.codeTrees[code] = try snapshot.entry(at: path)?.objectID ?? "missing"
            }
            if resource.id.kind == .dataset, let path = spec["path"]?.stringValue, inputs.fileDigests[path] == nil,
               case .success(let normal) = RepoPath.normalise(path) {
                inputs.fileDigests[path] = ContentDigest.sha256(try snapshot.contents(of: normal))
            }
            if let file = spec["templateFile"]?.stringValue, inputs.texts[file] == nil, case .success(let normal) = RepoPath.normalise(file) {
                inputs.texts[file] = String(decoding: try snapshot.contents(of: normal), as: UTF8.self)
            }
        }
        return inputs
    }
}
