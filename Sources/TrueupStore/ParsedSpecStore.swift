import Foundation
import GRDB
import TrueupCore

/// Parsed spec files kept between runs, by git blob id: `STATE/cache/parsed-specs.db`.
///
/// A cache, not state: its own SQLite file beside the state database, so that losing it, or
/// finding it unreadable, costs one full parse and nothing else. Every failure to open, read or
/// write it is swallowed here and answered as "nothing cached". What it returns is only bytes with
/// the digest they were written with; the caller checks both before trusting them (nothing on
/// disk is trusted).
public final class ParsedSpecStore: Sendable {
    public let path: String
    /// A pool: the loader reads its entries on every core at once.
    private let queue: DatabasePool

    /// One cached file: the encoded documents and the sha256 (hex) they were stored with.
    public struct Stored: Sendable {
        public var body: Data
        public var digest: String
    }

    /// Opens (creating if needed) the cache in `stateDirectory/cache/`; nil when that cannot be
    /// done (a read-only checkout, a full disk): then every file is parsed, as without a cache.
    public init?(stateDirectory: String) {
        let folder = (stateDirectory as NSString).appendingPathComponent("cache")
        path = (folder as NSString).appendingPathComponent("parsed-specs.db")
        var configuration = Configuration()
        // Runs of trueup in the same state folder share the cache; a writer makes readers wait,
        // briefly, rather than fail.
        configuration.busyMode = .timeout(5)
        // A write lost to a crash is a file parsed again next time: no fsync per transaction.
        // (Reading pages through a memory mapping was tried: no faster once reads run on every
        // core, and the mapped pages count as the process's memory, a fifth more for validate.)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            // Entries are a few kilobytes each: on 64 KiB pages most sit in one page instead of a
            // chain of overflow pages, which halved the time to write a first run's files. (The
            // page size only applies to a database created here, before the pool makes it WAL.)
            do {
                let creating = try DatabaseQueue(path: path, configuration: configuration)
                try creating.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA page_size = 65536")
                    _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                }
            }
            queue = try DatabasePool(path: path, configuration: configuration)
            try queue.write { db in
                // A rowid table, so that new entries are appended; the blob is found by its index.
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS parsed_files (
                        blob TEXT NOT NULL, format INTEGER NOT NULL, digest TEXT NOT NULL, body BLOB NOT NULL,
                        UNIQUE (blob, format)
                    )
                    """)
            }
        } catch {
            return nil
        }
    }

    /// What is stored for each of `blobs` in `format`; blobs with nothing stored are absent.
    public func stored(_ blobs: [String], format: UInt64) -> [String: Stored] {
        guard !blobs.isEmpty else { return [:] }
        // One statement for every blob: a query per blob was a third of the lookups' time.
        let list = Self.jsonArray(blobs)
        return (try? queue.read { db in
            var found: [String: Stored] = [:]
            found.reserveCapacity(blobs.count)
            let rows = try Row.fetchCursor(db, sql: """
                SELECT blob, digest, body FROM parsed_files
                WHERE format = ? AND blob IN (SELECT value FROM json_each(?))
                """, arguments: [Int64(bitPattern: format), list])
            while let row = try rows.next() {
                guard let blob = row[0] as String?, let digest = row[1] as String?, let body = row[2] as Data? else { continue }
                found[blob] = Stored(body: body, digest: digest)
            }
            return found
        }) ?? [:]
    }

    /// Stores newly parsed files. When the cache holds many more files than `current` (the
    /// blobs of the revision just read), the others are dropped, so that it stays about as large
    /// as the revisions in use rather than every revision ever read.
    public func store(_ files: [(blob: String, digest: String, body: [UInt8])], format: UInt64, current: [String]?) {
        guard !files.isEmpty else { return }
        try? queue.write { db in
            let insert = try db.makeStatement(sql: "INSERT OR REPLACE INTO parsed_files (blob, format, digest, body) VALUES (?, ?, ?, ?)")
            for file in files {
                try insert.execute(arguments: [file.blob, Int64(bitPattern: format), file.digest, Data(file.body)])
            }
            guard let current else { return }
            let held = try Int.fetchOne(db, sql: "SELECT count(*) FROM parsed_files") ?? 0
            if held > 4 * current.count + 1_000 {
                try db.execute(sql: "DELETE FROM parsed_files WHERE format <> ? OR blob NOT IN (SELECT value FROM json_each(?))",
                               arguments: [Int64(bitPattern: format), Self.jsonArray(current)])
            }
        }
    }

    /// Blob ids are hex, so they need no escaping inside a JSON string.
    private static func jsonArray(_ blobs: [String]) -> String {
        var list = "["
        list.reserveCapacity(blobs.count * 43 + 2)
        for (index, blob) in blobs.enumerated() {
            if index > 0 { list += "," }
            list += "\""
            list += blob.utf8.allSatisfy { $0.isHexDigit } ? blob : ""
            list += "\""
        }
        return list + "]"
    }
}

private extension UInt8 {
    var isHexDigit: Bool { (48...57).contains(self) || (97...102).contains(self) || (65...70).contains(self) }
}
