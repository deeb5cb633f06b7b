import Synchronization

/// What the threads assembling one revision learn about its files, shared between them: each
/// path dataset is hashed once, by whichever thread needs it first, for any kind of snapshot (a
/// commit's, the working tree's). A hash is computed outside the lock, so two threads may both
/// compute one; they find the same answer, and the second store is harmless.
final class RevisionLookups: Sendable {
    private let digests = Mutex<[String: String]>([:])

    /// The sha256 of a blob, by its object id.
    func knownDigest(of objectID: String) -> String? { digests.withLock { $0[objectID] } }
    func remember(digest: String, of objectID: String) { digests.withLock { $0[objectID] = digest } }
}
