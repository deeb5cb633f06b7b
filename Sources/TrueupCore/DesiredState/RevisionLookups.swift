import Synchronization

/// What the threads assembling one revision learn about its files, shared between them and kept
/// with the environments built: each dataset file is hashed once per load, by whichever needs it
/// first (a pinned sha256 checked while validating, or planning's inputs), for any kind of
/// snapshot (a commit's, the working tree's). A hash is computed outside the lock, so two
/// threads may both compute one; they find the same answer, and the second store is harmless.
final class RevisionLookups: Sendable {
    private let digests = Mutex<[String: String]>([:])
    /// Repository paths as specs write them (`spec.code`, `spec.path`, `spec.templateFile`), with
    /// what validation found there: one table per thread that validated. Planning reads its
    /// inputs' tree and blob ids from here rather than walking the snapshot's folders again for
    /// each of thousands of paths.
    private let checkedPaths = Mutex<[BuildRun.PathChecks]>([])

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

    /// The paths validation checked, to look up in (see `CheckedPaths`).
    func checked() -> CheckedPaths { CheckedPaths(tables: checkedPaths.withLock { $0 }) }

    /// The paths one thread checked, handed over as they are when it is done: one lock, and no
    /// key hashed again (merging the tables into one took each thread a hundredth of a second at
    /// 33,000 resources, the second one mostly waiting for the first's lock).
    func remember(checked table: BuildRun.PathChecks) {
        guard !table.isEmpty else { return }
        checkedPaths.withLock { $0.append(table) }
    }

    /// The tables of checked paths at one moment.
    struct CheckedPaths {
        let tables: [BuildRun.PathChecks]

        /// What is at `raw`, when validation checked the path and found what the spec asked for.
        func entry(at raw: String, expect: RepoPath.Expect) -> SourceEntry? {
            let key = BuildRun.PathCheck(raw: raw, expectsFile: expect == .file)
            for table in tables {
                if case .success(let entry)? = table[key] { return entry }
            }
            return nil
        }
    }
}
