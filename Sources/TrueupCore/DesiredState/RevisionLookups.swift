import Synchronization

/// What the threads assembling one revision learn about its files, shared between them: each
/// repository-path field is checked and each dataset hashed once, by
/// whichever thread needs it first, for any kind of snapshot (a commit's, the working tree's). A
/// look-up runs outside the lock, so two threads may both do one; they find the same answer, and
/// the second store is harmless.
final class RevisionLookups: Sendable {
    struct PathCheck: Hashable, Sendable {
        var raw: String
        var expectsFile: Bool
    }

    private let pathChecks = Mutex<[PathCheck: Result<SourceEntry, RepoPathProblem>]>([:])
    private let digests = Mutex<[String: String]>([:])

    func knownCheck(_ key: PathCheck) -> Result<SourceEntry, RepoPathProblem>? { pathChecks.withLock { $0[key] } }
    func remember(_ result: Result<SourceEntry, RepoPathProblem>, for key: PathCheck) { pathChecks.withLock { $0[key] = result } }

    /// The sha256 of a blob, by its object id.
    func knownDigest(of objectID: String) -> String? { digests.withLock { $0[objectID] } }
    func remember(digest: String, of objectID: String) { digests.withLock { $0[objectID] = digest } }
}
