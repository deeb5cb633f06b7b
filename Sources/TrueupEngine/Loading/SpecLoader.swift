// TrueupEngine composes the adapters: git (TrueupGit) and YAML (TrueupYAML) feed the core's
// DesiredStateBuilder. It owns no format rules of its own.
import Foundation
import Synchronization
import TrueupCore
import TrueupGit
import TrueupYAML

/// Where to read specs from: which repository, which revision, which folder.
public struct SpecSource: Sendable {
    public var repositoryPath: String
    /// A revision (`HEAD`, a branch, tag or sha); ignored when `worktree` is set.
    public var revision: String
    public var worktree: Bool
    /// The folder holding the environments.
    public var specRoot: String

    public init(repositoryPath: String = ".", revision: String = "HEAD", worktree: Bool = false, specRoot: String = "environments") {
        self.repositoryPath = repositoryPath
        self.revision = revision
        self.worktree = worktree
        self.specRoot = specRoot
    }
}

/// Reads a revision's spec files, parses them and assembles the desired state.
///
/// Parsed documents are cached by blob id, so a loader kept across revisions (the controller)
/// re-parses only files that changed.
public final class SpecLoader {
    private var parsed: [String: Result<[Document], Diagnostic>] = [:]
    private let yaml = YAMLLoader()
    /// Files parsed by other loaders working at the same time (`diff`: one per environment).
    private let shared: ParsedSpecFiles?
    /// Files parsed by earlier runs (see `ParsedSpecCache`); nil: parse every file.
    private let cache: ParsedSpecCache?

    public init(sharing shared: ParsedSpecFiles? = nil, cache: ParsedSpecCache? = nil) {
        self.shared = shared
        self.cache = cache
    }

    /// Reads and parses every spec file of `snapshot` into the cache (and the shared one), on
    /// every core, so that loaders that share it find them parsed.
    public func parseAll(_ snapshot: SourceSnapshot, specRoot: String = "environments") throws {
        let root = specRoot.split(separator: "/").joined(separator: "/")
        let entries = try snapshot.entries(under: root)
        parseAhead(entries.filter { $0.kind == .file && Self.isYAML($0.path) }, snapshot, revisionFiles: entries)
    }

    /// Loads and validates every environment (or only `environment`). Problems are in
    /// `DesiredState.diagnostics`; thrown errors are about reaching the repository at all.
    /// With `keeping: .checksOnly`, the environments come back without their resources (see
    /// `DesiredStateBuilder.Keeping`): for `validate`, which reports and needs nothing more.
    public func load(_ source: SpecSource, only environment: String? = nil, keeping: DesiredStateBuilder.Keeping = .everything) throws -> DesiredState {
        SchemaCatalog.compileAhead()
        return try load(source, in: try GitRepository(discoveringFrom: source.repositoryPath), only: environment, keeping: keeping)
    }

    /// The same, from `repository`, already opened where `source.repositoryPath` leads.
    public func load(_ source: SpecSource, in repository: GitRepository, only environment: String? = nil,
                     keeping: DesiredStateBuilder.Keeping = .everything) throws -> DesiredState {
        SchemaCatalog.compileAhead()
        let snapshot: SourceSnapshot = source.worktree ? try repository.worktreeSnapshot() : try repository.snapshot(at: source.revision)
        return try load(snapshot, specRoot: source.specRoot, only: environment, keeping: keeping)
    }

    public func load(_ snapshot: SourceSnapshot, specRoot: String = "environments", only environment: String? = nil,
                     keeping: DesiredStateBuilder.Keeping = .everything) throws -> DesiredState {
        let root = specRoot.split(separator: "/").joined(separator: "/")
        // One environment: list and parse only its folder and the folders it extends, with every
        // folder's environment file. Should that find any error, everything is read, so that what
        // is reported is exactly what a whole load says (suggestions name every folder, a broken
        // file elsewhere is seen).
        if let environment, let needed = try entries(for: environment, snapshot: snapshot, root: root) {
            // Not the revision's whole listing: the cache is not pruned to it.
            let state = assemble(needed, allEntries: nil, snapshot: snapshot, root: root, only: environment, keeping: keeping)
            if state.errors.isEmpty { return state }
        }
        let entries = try snapshot.entries(under: root)
        return assemble(entries, allEntries: entries, snapshot: snapshot, root: root, only: environment, keeping: keeping)
    }

    /// What one environment is assembled from: the entries of its folder and of the folders it
    /// extends, and every folder's environment file. Listed folder by folder, so that the other
    /// environments' trees are not read: listing all four folders of 33,000 resources each took a
    /// plan about 45 ms on one core. Nil when the environment file is missing or does not parse.
    private func entries(for environment: String, snapshot: SourceSnapshot, root: String) throws -> [SourceEntry]? {
        let prefix = root.isEmpty ? "" : root + "/"
        var environmentFiles: [String: SourceEntry] = [:]
        for folder in try snapshot.folderNames(under: root) {
            // As in a whole listing, where `.yml` comes after `.yaml`.
            for name in SpecTreePath.environmentFileNames {
                if let entry = try snapshot.entry(at: prefix + folder + "/" + name), entry.kind != .directory { environmentFiles[folder] = entry }
            }
        }
        guard let folders = neededFolders(environment, environmentFiles: environmentFiles, snapshot: snapshot) else { return nil }
        var entries: [SourceEntry] = environmentFiles.filter { !folders.contains($0.key) }.map(\.value)
        for folder in folders {
            entries += try snapshot.entries(under: prefix + folder).filter { Self.folder(of: $0.path, root: root) == folder }
        }
        // In path order, as a whole listing has them.
        entries.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return entries
    }

    /// What planning `environment` needs: that environment and, when its versions are promoted
    /// from another (`promotion.from`), that one too, whose aliases decide what may be promoted.
    public func loadForPlanning(_ snapshot: SourceSnapshot, specRoot: String, environment: String) throws -> DesiredState {
        let state = try load(snapshot, specRoot: specRoot, only: environment)
        if let from = state.environments[environment]?.settings.promotionFrom, state.environments[from] == nil {
            // The parsed files are cached: this costs only the building.
            return try load(snapshot, specRoot: specRoot)
        }
        return state
    }

    /// `allEntries` is the revision's whole listing below `root`, nil when only `specEntries` were listed.
    private func assemble(_ specEntries: [SourceEntry], allEntries entries: [SourceEntry]?, snapshot: SourceSnapshot, root: String, only environment: String?,
                          keeping: DesiredStateBuilder.Keeping) -> DesiredState {
        var files: [SpecFile] = []
        var broken = Set<String>()
        var diagnostics: [Diagnostic] = []
        if entries?.isEmpty == true {
            diagnostics.append(Diagnostic(at: nil, "no spec files under '\(root)/' at \(snapshot.revision.commit == "worktree" ? "the working tree" : "commit " + snapshot.revision.shortCommit): run `trueup init` or pass --path"))
        }
        var seen = Set<String>()
        var specEntries = specEntries
        var later: DesiredStateBuilder.LaterFolders?
        if keeping == .checksOnly, environment == nil {
            (specEntries, later) = readingLater(specEntries, snapshot: snapshot, root: root)
        }
        parseAhead(specEntries.filter { $0.kind == .file && Self.isYAML($0.path) }, snapshot, revisionFiles: entries)
        for entry in specEntries where entry.kind == .file && Self.isYAML(entry.path) {
            seen.insert(entry.objectID)
            switch parse(entry, snapshot) {
            case .success(let documents):
                files.append(SpecFile(path: entry.path, objectID: entry.objectID, documents: Self.relocated(documents, to: entry.path)))
            case .failure(var error):
                error.location?.file = entry.path
                diagnostics.append(error)
                broken.insert(entry.path)
            }
        }
        // Forget blobs no longer in the tree so the cache stays as large as one revision (every
        // cached blob was seen when there are no more of them than were seen).
        if parsed.count > seen.count { parsed = parsed.filter { seen.contains($0.key) } }
        var state = DesiredStateBuilder(snapshot: snapshot, root: root).build(files: files, entries: entries ?? specEntries, brokenFiles: broken, only: environment, keeping: keeping, later: later)
        state.diagnostics = (state.diagnostics + diagnostics).sorted()
        return state
    }

    /// `entries` without the files of environment folders (all but their `environment.yaml`),
    /// and those folders for the builder to read when it checks their environment (see
    /// `DesiredStateBuilder.LaterFolders`, which reads at once a folder another environment
    /// extends). Their files are parsed then, on every core, and not cached: they are released
    /// once their environment is checked.
    private func readingLater(_ entries: [SourceEntry], snapshot: SourceSnapshot, root: String)
        -> ([SourceEntry], DesiredStateBuilder.LaterFolders?) {
        let environments = Set(entries.compactMap { entry in
            entry.kind == .file && Self.isEnvironmentFile(entry.path, root: root) ? Self.folder(of: entry.path, root: root) : nil
        })
        guard !environments.isEmpty else { return (entries, nil) }
        var now: [SourceEntry] = []
        var filesOf: [String: [SourceEntry]] = [:]
        for entry in entries {
            let place = SpecTreePath(entry.path, root: root)
            if entry.kind == .file, Self.isYAML(entry.path), !place.isEnvironmentFile,
               let folder = place.folder.map(String.init), environments.contains(folder) {
                filesOf[folder, default: []].append(entry)
            } else {
                now.append(entry)
            }
        }
        let yaml = self.yaml
        let cache = snapshot.revision.commit == "worktree" ? nil : self.cache
        let later = DesiredStateBuilder.LaterFolders(names: environments.sorted()) { folder in
            Self.read(filesOf[folder] ?? [], snapshot, yaml, cache: cache)
        }
        return (now, later)
    }

    /// Files read and parsed without the loader's cache, on every core when there are many; from
    /// the state folder's `cache` where it has them, which learns those it had not.
    private static func read(_ entries: [SourceEntry], _ snapshot: SourceSnapshot, _ yaml: YAMLLoader, cache: ParsedSpecCache?) -> DesiredStateBuilder.FolderFiles {
        // By position in `entries` throughout: keyed by blob id, an uncached validate of 3 x
        // 33,000 resources hashed every file's id twice more for nothing.
        var results = [Result<[Document], Diagnostic>?](repeating: nil, count: entries.count)
        var toParse = Array(entries.indices)
        if let cache, entries.count >= Self.filesPerWorker {
            let cached = cache.documents(for: entries)
            if !cached.isEmpty {
                toParse.removeAll { index in
                    guard let documents = cached[entries[index].objectID] else { return false }
                    results[index] = .success(documents)
                    return true
                }
            }
        }
        let workers = min(SnapshotWork.availableCores, 8, toParse.count / Self.filesPerWorker)
        if workers > 1, let opener = snapshot.opener {
            let parsing = toParse
            let parsed = SnapshotWork.map(count: parsing.count, workers: workers, opener: opener, caller: snapshot, state: { $0 }) { snapshot, index in
                Self.parse(entries[parsing[index]], yaml) { try snapshot.contents(of: $0) }
            }
            var learnt: [(blob: String, documents: [Document])] = []
            for (index, result) in parsed.enumerated() {
                results[parsing[index]] = result
                if cache != nil, case .success(let documents) = result { learnt.append((entries[parsing[index]].objectID, documents)) }
            }
            cache?.remember(learnt, current: nil)
        }
        var folder = DesiredStateBuilder.FolderFiles(files: [], brokenFiles: [], diagnostics: [])
        folder.files.reserveCapacity(entries.count)
        for index in entries.indices {
            // A file no thread could read is read here, on the loader's own snapshot.
            switch results[index].take() ?? Self.parse(entries[index], yaml, read: { try snapshot.contents(of: $0) }) {
            case .success(let documents):
                // Found by blob id: the same blob at another path is located at this one.
                folder.files.append(SpecFile(path: entries[index].path, objectID: entries[index].objectID, documents: Self.relocated(documents, to: entries[index].path)))
            case .failure(var error):
                error.location?.file = entries[index].path
                folder.diagnostics.append(error)
                folder.brokenFiles.insert(entries[index].path)
            }
        }
        return folder
    }

    /// A file's documents, parsed once per blob id.
    private func parse(_ entry: SourceEntry, _ snapshot: SourceSnapshot) -> Result<[Document], Diagnostic> {
        if let cached = parsed[entry.objectID] { return cached }
        if let known = shared?.file(entry.objectID) {
            parsed[entry.objectID] = known
            return known
        }
        let result = Self.parse(entry, yaml) { try snapshot.contents(of: $0) }
        parsed[entry.objectID] = result
        shared?.store(result, for: entry.objectID)
        return result
    }

    private static func parse(_ entry: SourceEntry, _ yaml: YAMLLoader, read: (SourceEntry) throws -> [UInt8]) -> Result<[Document], Diagnostic> {
        do {
            return .success(try yaml.load(try read(entry), file: entry.path))
        } catch let error as Diagnostic {
            return .failure(error)
        } catch {
            return .failure(Diagnostic(at: SourceLocation(file: entry.path, line: 1, column: 1), "cannot read the file: \(error)"))
        }
    }

    /// Fills the cache for every file not in it yet, reading and parsing on every core: files are
    /// independent, and reading and parsing them is most of what loading a repository costs.
    /// `revisionFiles` are all the spec files of the revision, which the state folder's cache keeps
    /// when it drops entries; nil when they were not all listed, and then nothing is dropped.
    private func parseAhead(_ entries: [SourceEntry], _ snapshot: SourceSnapshot, revisionFiles: [SourceEntry]?) {
        var seen = Set<String>()
        if let shared {
            for entry in entries where parsed[entry.objectID] == nil {
                if let known = shared.file(entry.objectID) { parsed[entry.objectID] = known }
            }
        }
        var missing = entries.filter { parsed[$0.objectID] == nil && seen.insert($0.objectID).inserted }
        // Only a commit's entries are named by their content; the working tree's are not cached.
        let cache = snapshot.revision.commit == "worktree" ? nil : self.cache
        if let cache, missing.count >= Self.filesPerWorker {
            let found = cache.documents(for: missing)
            if !found.isEmpty {
                parsed.reserveCapacity(parsed.count + found.count)
                for (blob, documents) in found {
                    parsed[blob] = .success(documents)
                    shared?.store(.success(documents), for: blob)
                }
                missing.removeAll { found[$0.objectID] != nil }
            }
        }
        let workers = min(SnapshotWork.availableCores, 8, missing.count / Self.filesPerWorker)
        let yaml = self.yaml
        let toParse = missing
        let results: [Result<[Document], Diagnostic>?]
        if workers > 1, let opener = snapshot.opener {
            // A file no thread could read is left to `parse`, on this loader's own snapshot.
            results = SnapshotWork.map(count: toParse.count, workers: workers, opener: opener, caller: snapshot, state: { $0 }) { snapshot, index in
                Self.parse(toParse[index], yaml) { try snapshot.contents(of: $0) }
            }
        } else if cache != nil, toParse.count >= Self.filesPerWorker {
            // On one core, parsed here all the same, so that the cache learns them.
            results = toParse.map { Self.parse($0, yaml) { try snapshot.contents(of: $0) } }
        } else {
            return
        }
        parsed.reserveCapacity(parsed.count + missing.count)
        var newlyParsed: [(blob: String, documents: [Document])] = []
        for (index, result) in results.enumerated() {
            guard let result else { continue }
            parsed[missing[index].objectID] = result
            shared?.store(result, for: missing[index].objectID)
            // Files that do not parse are not kept: their error is found again, as it should be.
            if case .success(let documents) = result { newlyParsed.append((missing[index].objectID, documents)) }
        }
        cache?.remember(newlyParsed, current: revisionFiles?.map(\.objectID))
    }

    /// Below this many files per core, starting threads costs more than it saves.
    static let filesPerWorker = 16

    /// The folders `environment` is assembled from: its own and, following every environment
    /// file's `spec.extends`, the ones it inherits. Nil when that cannot be told (the environment
    /// file is missing or unreadable): then everything is read.
    func neededFolders(_ environment: String, entries: [SourceEntry], snapshot: SourceSnapshot, root: String) -> Set<String>? {
        var environmentFiles: [String: SourceEntry] = [:]
        for entry in entries where entry.kind == .file && Self.isEnvironmentFile(entry.path, root: root) {
            if let folder = Self.folder(of: entry.path, root: root) { environmentFiles[folder] = entry }
        }
        return neededFolders(environment, environmentFiles: environmentFiles, snapshot: snapshot)
    }

    /// The same, from each folder's environment file.
    private func neededFolders(_ environment: String, environmentFiles listed: [String: SourceEntry], snapshot: SourceSnapshot) -> Set<String>? {
        let environmentFiles = listed.filter { $0.value.kind == .file }
        guard environmentFiles[environment] != nil else { return nil }
        var needed: Set<String> = []
        var pending = [environment]
        while let folder = pending.popLast() {
            guard needed.insert(folder).inserted, let file = environmentFiles[folder] else { continue }
            guard case .success(let documents) = parse(file, snapshot) else { return nil }
            for document in documents {
                for item in document.root["spec"]?["extends"]?.items ?? [] {
                    if let parent = item.scalarText { pending.append(parent) }
                }
            }
        }
        return needed
    }

    static func isYAML(_ path: String) -> Bool { path.hasSuffix(".yaml") || path.hasSuffix(".yml") }

    /// `root/<folder>/environment.yaml` (or `.yml`).
    static func isEnvironmentFile(_ path: String, root: String) -> Bool { SpecTreePath(path, root: root).isEnvironmentFile }

    /// The first folder below `root` of a path, or nil for a file directly in `root`.
    static func folder(of path: String, root: String) -> String? { SpecTreePath(path, root: root).folder.map(String.init) }

    /// The same blob can sit at two paths; cached nodes carry the first path's name.
    private static func relocated(_ documents: [Document], to path: String) -> [Document] {
        guard let first = documents.first, first.root.location.file != path else { return documents }
        func move(_ node: Node) -> Node {
            var node = node
            node.location.file = path
            switch node.value {
            case .mapping(let entries):
                node.value = .mapping(entries.map { entry in
                    var entry = entry
                    entry.keyLocation.file = path
                    entry.value = move(entry.value)
                    return entry
                })
            case .sequence(let items): node.value = .sequence(items.map(move))
            case .scalar: break
            }
            return node
        }
        return documents.map { Document(root: move($0.root), index: $0.index) }
    }
}

/// Parsed spec files by blob id, for loaders that work at the same time on revisions that share
/// most of their files: `diff` assembles each environment, at head and at base, with a loader of
/// its own, and each parsed every file again.
public final class ParsedSpecFiles: Sendable {
    private let files = Mutex<[String: Result<[Document], Diagnostic>]>([:])

    public init() {}

    func file(_ objectID: String) -> Result<[Document], Diagnostic>? { files.withLock { $0[objectID] } }
    func store(_ result: Result<[Document], Diagnostic>, for objectID: String) { files.withLock { $0[objectID] = result } }
}
