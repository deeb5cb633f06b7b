import Foundation
import TrueupCore

/// The `path` artifact store (`spec.artifacts: {type: path, path: /mnt/shared/trueup}`): a folder
/// on a filesystem mounted at the same path on trueup's machine and on every node of the cluster
/// (NFS, a Kubernetes volume), in the layout of `FolderArtifactStore`. trueup and the job runner
/// on the nodes read and write it directly; a URI `file://<path>/sha256/<hex>` means the same
/// folder everywhere.
public struct PathArtifactStore: FolderArtifactStore {
    public let root: String
    public var storeDescription: String { "shared artifact store" }

    /// `path` must be absolute and exist: an absent mount point is a configuration error, never
    /// an empty store silently created on trueup's own disk.
    public init(path: String, environment: String? = nil) throws {
        let place = environment.map { "environment \($0): spec.artifacts.path" } ?? "spec.artifacts.path"
        guard path.hasPrefix("/") else {
            throw BackendError("\(place) is \(path.isEmpty ? "empty" : "\"\(path)\""), which is not an absolute path: set it to the folder where the shared filesystem is mounted on trueup's machine and on every node, e.g. /mnt/shared/trueup")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackendError("\(place) is \(path), which is not a folder on this machine: mount the shared filesystem there (the same path on every node), or create the folder")
        }
        root = (path as NSString).standardizingPath
    }
}
