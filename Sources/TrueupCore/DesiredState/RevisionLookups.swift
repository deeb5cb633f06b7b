import Synchronization

/// What the threads assembling one revision learn about its files, shared between them and kept
/// with the environments built: each dataset file is hashed once per load, by whichever needs it
/// first (a pinned sha256 checked while validating, or planning's inputs), for any kind of
/// snapshot (a commit's, the working tree's). A hash is computed outside the lock, so two
/// threads may both compute one; they find the same answer, and the second store is harmless.
final class RevisionLookups: Sendable {
    private let digests = Mutex<[String: String]>([:])
    /// Repository paths as specs write them (`spec.code`, `spec.path`, `spec.templateFile`), with
    /// what validation found there. Planning reads its inputs' tree and blob ids from here rather
    /// than walking the snapshot's folders again for each of thousands of paths.
    private let checkedPaths = Mutex<[String: SourceEntry]>([:])

    /// The sha256 of a blob, by its object id.
    func knownDigest(of objectID: String) -> String? { digests.withLock { $0[objectID] } }
    func remember(digest: String, of objectID: String) { digests.withLock { $0[objectID] = digest } }

    /// The sha256 (hex) of a file of `snapshot`, read and hashed only the first time its blob is asked for.
    func digest(of entry: SourceEntry, in snapshot: SourceSnapshot) -> String? {
        if let known = knownDigest(of: entry.objectID) { return known }
        guard let bytes = try? snapshot.contents(of: entry) else { return nil }
        let hex = ContentDigest.sha256(bytes)
        remember(digest: hex, of: entry.objectID)
        return hex
    }

    /// What is at `raw`, when validation checked the path and found what the spec asked for.
    func checkedEntry(at raw: String) -> SourceEntry? { checkedPaths.withLock { $0[raw] } }

    /// Paths one thread checked, handed over once when it is done (one lock, not one per path).
    func remember(checked entries: [String: SourceEntry]) {
        guard !entries.isEmpty else { return }
        checkedPaths.withLock { known in known.merge(entries) { old, _ in old } }
    }
}
