import Foundation
import Testing
import TrueupCore
import TrueupStore
import TrueupYAML
@testable import TrueupEngine

/// A repository whose environment `dev` has `count` datasets, one file each: enough files for the
/// loader to read them ahead, which is where the cache is asked.
private func repositoryWithManyFiles(_ count: Int = 40) throws -> TestRepository {
    let repository = try TestRepository()
    try repository.write("environments/dev/environment.yaml", "apiVersion: trueup/v1\nkind: Environment\nmetadata:\n  name: dev\nspec: {}\n")
    for index in 0..<count {
        try repository.write("environments/dev/data-\(index).yaml", dataset(index, description: "dataset \(index)"))
    }
    try repository.commit("datasets")
    return repository
}

private func dataset(_ index: Int, description: String) -> String {
    "apiVersion: trueup/v1\nkind: Dataset\nmetadata:\n  name: data-\(index)\nspec:\n  description: \(description)\n  uri: s3://bucket/data-\(index).csv\n  sha256: \(String(repeating: "ab", count: 32))\n"
}

private func stateFolder() throws -> String {
    var template = Array((FileManager.default.temporaryDirectory.path + "/trueup-cache-XXXXXX").utf8CString)
    guard let created = mkdtemp(&template) else { throw TestRepositoryError("mkdtemp failed") }
    return String(cString: created)
}

private func openCache(_ state: String) throws -> ParsedSpecCache {
    ParsedSpecCache(stateDirectory: state)
}

private func load(_ repository: TestRepository, cache: ParsedSpecCache?) throws -> DesiredState {
    try SpecLoader(cache: cache).load(SpecSource(repositoryPath: repository.path))
}

private func description(of index: Int, in state: DesiredState) -> String? {
    state.environments["dev"]?.resources[ResourceID(.dataset, "data-\(index)")]?.spec["description"]?.stringValue
}

/// The blob id git gives a file at HEAD.
private func blob(_ repository: TestRepository, _ path: String) throws -> String {
    try repository.git("rev-parse", "HEAD:\(path)")
}

/// A repository that a first run has read with the cache of a fresh state folder, and that cache's
/// store, for a test to change entries in; the folder is removed with it.
private final class FilledCache {
    let repository: TestRepository
    let state: String
    let store: ParsedSpecStore

    init() throws {
        repository = try repositoryWithManyFiles()
        state = try stateFolder()
        _ = try load(repository, cache: try openCache(state))
        guard let store = ParsedSpecStore(stateDirectory: state) else { throw TestRepositoryError("cannot open the cache in \(state)") }
        self.store = store
    }

    deinit { try? FileManager.default.removeItem(atPath: state) }

    func loadAgain() throws -> DesiredState { try load(repository, cache: try openCache(state)) }
}

struct ParsedSpecCacheTests {
    @Test func aSecondRunReadsFilesFromTheCacheAndFindsTheSameState() throws {
        let repository = try repositoryWithManyFiles()
        let state = try stateFolder()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let first = try load(repository, cache: try openCache(state))
        #expect(FileManager.default.fileExists(atPath: state + "/cache/parsed-specs.db"))
        let stored = try #require(ParsedSpecStore(stateDirectory: state)).stored([try blob(repository, "environments/dev/data-7.yaml")], format: DocumentCoding.format)
        #expect(stored.count == 1, "the first run kept what it parsed")

        let second = try load(repository, cache: try openCache(state))
        let uncached = try load(repository, cache: nil)
        #expect(second.diagnostics.map(\.description) == [])
        for index in [0, 7, 39] {
            let id = ResourceID(.dataset, "data-\(index)")
            let cached = try #require(second.environments["dev"]?.resources[id])
            let parsed = try #require(uncached.environments["dev"]?.resources[id])
            #expect(cached.spec == parsed.spec)
            #expect(cached.location(of: FieldPath([.key("spec"), .key("uri")])) == parsed.location(of: FieldPath([.key("spec"), .key("uri")])))
            #expect(cached.declaredAt == parsed.declaredAt)
        }
        #expect(first.environments["dev"]?.order == second.environments["dev"]?.order)
    }

    /// Proof that a second run takes an intact entry as it is, and that an entry whose digest does
    /// not match is never used: the file is read from git and parsed instead.
    @Test func anIntactEntryIsUsedAndADamagedOneIsParsedAgain() throws {
        let filled = try FilledCache()
        // Another description under data-3's blob, stored with a matching digest: only the cache
        // can have said it.
        let three = try blob(filled.repository, "environments/dev/data-3.yaml")
        let other = DocumentCoding.encode(try YAMLLoader().load(Array(dataset(3, description: "from the cache").utf8), file: "x.yaml"))
        // And data-5's entry with bytes that no longer match its digest.
        let five = try blob(filled.repository, "environments/dev/data-5.yaml")
        let damaged = DocumentCoding.encode(try YAMLLoader().load(Array(dataset(5, description: "damaged").utf8), file: "x.yaml"))
        let fiveDigest = try #require(filled.store.stored([five], format: DocumentCoding.format)[five]).digest
        filled.store.store([(three, ParsedSpecCache.digest(blob: three, body: other), other), (five, fiveDigest, damaged)],
                           format: DocumentCoding.format, current: [])

        let loaded = try filled.loadAgain()
        #expect(description(of: 3, in: loaded) == "from the cache")
        #expect(description(of: 5, in: loaded) == "dataset 5")
        #expect(description(of: 6, in: loaded) == "dataset 6")
        // The cached entry points at the file's path, where the user would look.
        let located = try #require(loaded.environments["dev"]?.resources[ResourceID(.dataset, "data-3")])
        #expect(located.location(of: FieldPath([.key("spec"), .key("description")])).description == "environments/dev/data-3.yaml:6:16")
    }

    @Test func anEntryFromAnotherBlobsRowIsRefused() throws {
        let filled = try FilledCache()
        let three = try blob(filled.repository, "environments/dev/data-3.yaml")
        let four = try blob(filled.repository, "environments/dev/data-4.yaml")
        // data-4's intact entry (bytes and digest) moved under data-3's blob id.
        let entry = try #require(filled.store.stored([four], format: DocumentCoding.format)[four])
        filled.store.store([(three, entry.digest, [UInt8](entry.body))], format: DocumentCoding.format, current: [])
        let loaded = try filled.loadAgain()
        #expect(loaded.environments["dev"]?.resources[ResourceID(.dataset, "data-3")] != nil)
        #expect(description(of: 3, in: loaded) == "dataset 3")
    }

    @Test func aChangedFileIsParsedAndAFileThatDoesNotParseIsNeverKept() throws {
        let repository = try repositoryWithManyFiles()
        let state = try stateFolder()
        defer { try? FileManager.default.removeItem(atPath: state) }
        _ = try load(repository, cache: try openCache(state))
        try repository.write("environments/dev/data-2.yaml", dataset(2, description: "changed"))
        try repository.write("environments/elsewhere/broken.yaml", "apiVersion: trueup/v1\nkind: [unclosed\n")
        try repository.commit("change two files")

        for _ in 0..<2 {
            let loaded = try load(repository, cache: try openCache(state))
            #expect(description(of: 2, in: loaded) == "changed")
            #expect(loaded.errors.map(\.location?.file) == ["environments/elsewhere/broken.yaml"])
        }
        let broken = try blob(repository, "environments/elsewhere/broken.yaml")
        #expect(try #require(ParsedSpecStore(stateDirectory: state)).stored([broken], format: DocumentCoding.format).isEmpty)
    }

    @Test func anUnusableCacheFolderMeansParsingEveryFile() throws {
        let repository = try repositoryWithManyFiles()
        let state = try stateFolder()
        defer { try? FileManager.default.removeItem(atPath: state) }
        // `cache` is a file, so no database can be made in it.
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: state + "/cache"))
        #expect(ParsedSpecStore(stateDirectory: state) == nil)
        let notAFolder = try load(repository, cache: ParsedSpecCache(stateDirectory: state))
        #expect(notAFolder.diagnostics.map(\.description) == [])
        #expect(description(of: 1, in: notAFolder) == "dataset 1")
        // A database file that is not one.
        let other = try stateFolder()
        defer { try? FileManager.default.removeItem(atPath: other) }
        try FileManager.default.createDirectory(atPath: other + "/cache", withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: other + "/cache/parsed-specs.db"))
        let loaded = try load(repository, cache: ParsedSpecCache(stateDirectory: other))
        #expect(loaded.diagnostics.map(\.description) == [])
        #expect(description(of: 1, in: loaded) == "dataset 1")
    }
}
