import Foundation
import TrueupCore

/// The artifact store on trueup's own disk (the default: every backend shares it), by default
/// `<state>/artifacts`, in the layout of `FolderArtifactStore`. Another machine sharing the same
/// mount reads its URIs as they are; that is the `path` store's business (`PathArtifactStore`).
public struct LocalArtifactStore: FolderArtifactStore {
    public let root: String
    public var storeDescription: String { "local artifact store" }

    public init(root: String) {
        self.root = (root as NSString).standardizingPath
    }

    /// The store of a state directory.
    public init(paths: LocalPaths) {
        self.init(root: paths.artifacts)
    }
}
