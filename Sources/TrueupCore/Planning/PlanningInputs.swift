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
        let lookups = environment.lookups
        // Validation checked every one of these paths and left what it found in `lookups`: the
        // snapshot is walked only for a path it did not (a desired state built another way).
        let checked = lookups.checked()
        func entry(at raw: String, normal: String, expect: RepoPath.Expect) throws -> SourceEntry? {
            try checked.entry(at: raw, expect: expect) ?? snapshot.entry(at: normal)
        }
        // By index, which borrows each resource: iterating the values copies every field of each.
        let resources = environment.resources.values
        for index in resources.indices {
            let typed = resources[index].typed
            if let code = typed.code, inputs.codeTrees[code] == nil, case .success(let path) = RepoPath.normalise(code) {
                inputs.codeTrees[code] = try entry(at: code, normal: path, expect: .directory)?.objectID ?? "missing"
            }
            switch typed {
            case .dataset(let dataset):
                if let path = dataset.path, inputs.fileDigests[path] == nil, case .success(let normal) = RepoPath.normalise(path) {
                    let found = try entry(at: path, normal: normal, expect: .file)
                    inputs.fileDigests[path] = try found.flatMap { lookups.digest(of: $0, in: snapshot) } ?? ContentDigest.sha256(try snapshot.contents(of: normal))
                }
            case .prompt(let prompt):
                if let file = prompt.templateFile, inputs.texts[file] == nil, case .success(let normal) = RepoPath.normalise(file) {
                    inputs.texts[file] = String(decoding: try snapshot.contents(of: normal), as: UTF8.self)
                }
            default:
                break
            }
        }
        return inputs
    }
}
