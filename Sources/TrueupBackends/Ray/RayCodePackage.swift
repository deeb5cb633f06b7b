import Foundation
import TrueupCore

/// A job's working-dir package: its code tree at the commit plus trueup's runner, zipped
/// deterministically and named by the zip's content hash, so the same tree is uploaded once and a
/// new tree (or a new runner) is a new package.
public struct RayCodePackage: Sendable {
    /// `_ray_pkg_<first 32 hex digits of the zip's sha256>.zip`
    public var name: String
    public var zip: Data

    /// The URI a runtime env's `working_dir` takes.
    public var uri: String { "gcs://\(name)" }

    /// The package of the code tree in `folder`, with the runner added.
    public static func make(codeFolder folder: String) throws -> RayCodePackage {
        var entries = try DeterministicZip.entries(ofFolder: folder)
        if entries.contains(where: { $0.path == RayJobRunner.fileName }) {
            throw BackendError("the job's code folder has a file named \(RayJobRunner.fileName), the name of the runner trueup adds to every Ray job's package: rename that file")
        }
        entries.append(DeterministicZip.Entry(path: RayJobRunner.fileName, data: Data(RayJobRunner.source.utf8)))
        let zip = try DeterministicZip.archive(entries)
        return RayCodePackage(name: "_ray_pkg_\(ContentDigest.sha256(zip).prefix(32)).zip", zip: zip)
    }

    /// Writes the code with `materialize` into a scratch folder, packages it and removes the folder.
    public static func make(materialize: @Sendable (String) throws -> Void) throws -> RayCodePackage {
        let scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("trueup-ray-code-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let code = (scratch as NSString).appendingPathComponent("code")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try materialize(code)
        return try make(codeFolder: code)
    }
}
