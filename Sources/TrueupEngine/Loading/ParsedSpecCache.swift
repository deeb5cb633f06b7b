import Crypto
import Foundation
import Synchronization
import TrueupCore
import TrueupStore

/// Spec files parsed by earlier runs, by git blob id, so that a run reads from git and parses only
/// the files whose content it has not seen: between two plans, a commit changes a few files of
/// thousands. Reading a blob and parsing it with libyaml was about a third of a plan of 33,000
/// resources; rebuilding its documents from the cache is a fraction of that.
///
/// A blob id names the file's exact bytes, and the entry names the format (`DocumentCoding`), so
/// an entry can only be stale by being damaged: each is checked against the sha256 it was stored
/// with, of its blob id and bytes together (an entry moved to another blob's row fails too), and
/// must decode exactly, or the file is parsed as if nothing were cached.
public final class ParsedSpecCache: Sendable {
    private let stateDirectory: String
    /// Opened when first asked, so that a command that loads no specs makes no file; nil inside
    /// once it could not be opened (then every file is parsed).
    private let opened = Mutex<ParsedSpecStore??>(nil)

    /// Writes take turns on it, one at a time, while the run goes on (see `remember`).
    private let writer = DispatchQueue(label: "trueup.parsed-spec-cache")
    private let writing = DispatchGroup()

    /// The cache of the state folder `stateDirectory`.
    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    /// A cache is released once the writes it was given are done: a command that ends before then
    /// would otherwise lose them.
    deinit {
        writing.wait()
    }

    private var store: ParsedSpecStore? {
        opened.withLock { opened in
            if let store = opened { return store }
            let store = ParsedSpecStore(stateDirectory: stateDirectory)
            opened = .some(store)
            return store
        }
    }

    /// The documents of each of `entries` that the cache holds intact, by blob id, located at the
    /// entry's path. Checked and decoded on every core.
    func documents(for entries: [SourceEntry]) -> [String: [Document]] {
        guard let store else { return [:] }
        // Each core reads its share of the entries and decodes them at once: read on one core
        // first, the reading alone took as long as all the decoding.
        let pieces = EveryCore.map(rangesOf: entries.count, atLeast: 512) { range in
            let stored = store.stored(entries[range].map(\.objectID), format: DocumentCoding.format)
            return entries[range].compactMap { entry -> (String, [Document])? in
                guard let stored = stored[entry.objectID], Self.digest(blob: entry.objectID, body: stored.body) == stored.digest,
                      let documents = DocumentCoding.decode(stored.body, file: SourceFileNames.id(of: entry.path)) else { return nil }
                return (entry.objectID, documents)
            }
        }
        var documents: [String: [Document]] = [:]
        documents.reserveCapacity(entries.count)
        for piece in pieces {
            for (blob, decoded) in piece { documents[blob] = decoded }
        }
        return documents
    }

    /// Keeps newly parsed files for the next run; `current` are the blobs of the revision being
    /// read, which the cache keeps when it drops others (nil: only a part of the revision is known
    /// here, so nothing is dropped). Encoded and written on a thread of their own while the run
    /// goes on: after parsing, building and checking the environment leave a core idle for a
    /// while, and writing a first run's files at once made that run a sixth slower.
    ///
    /// That thread runs at the lowest scheduling priority (nice 19, which on Linux is a thread's
    /// own): it then takes the cores only when the run leaves one idle (the environment's checks,
    /// freeing what was built) instead of slowing the building and validating on both. A thread
    /// of its own, not a pool thread, because an unprivileged process cannot raise a thread's
    /// priority back, and a pool thread would carry it into other work.
    func remember(_ parsed: [(blob: String, documents: [Document])], current: [String]?) {
        guard !parsed.isEmpty, let store else { return }
        writing.enter()
        let writing = self.writing, writer = self.writer
        let thread = Thread {
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
            defer { writing.leave() }
            // One write at a time (`sync` runs the block on this thread).
            writer.sync {
                let files = parsed.map { file -> (blob: String, digest: String, body: [UInt8]) in
                    let body = DocumentCoding.encode(file.documents)
                    return (file.blob, Self.digest(blob: file.blob, body: body), body)
                }
                store.store(files, format: DocumentCoding.format, current: current)
            }
        }
        thread.start()
    }

    static func digest(blob: String, body: some DataProtocol) -> String {
        var hash = SHA256()
        hash.update(data: Data(blob.utf8))
        hash.update(data: [0])
        hash.update(data: body)
        return ContentDigest.hex(hash.finalize())
    }
}
