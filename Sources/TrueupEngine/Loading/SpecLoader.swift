// TrueupEngine composes the adapters: git (TrueupGit) and YAML (TrueupYAML) feed the core's
// DesiredStateBuilder. It owns no format rules of its own.
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

    public init() {}

    /// Loads and validates every environment (or only `environment`). Problems are in
    /// `DesiredState.diagnostics`; thrown errors are about reaching the repository at all.
    public func load(_ source: SpecSource, only environment: String? = nil) throws -> DesiredState {
        let repository = try GitRepository(discoveringFrom: source.repositoryPath)
        let snapshot: SourceSnapshot = source.worktree ? try repository.worktreeSnapshot() : try repository.snapshot(at: source.revision)
        return try load(snapshot, specRoot: source.specRoot, only: environment)
    }

    public func load(_ snapshot: SourceSnapshot, specRoot: String = "environments", only environment: String? = nil) throws -> DesiredState {
        let root = specRoot.split(separator: "/").joined(separator: "/")
        let entries = try snapshot.entries(under: root)
        var files: [SpecFile] = []
        var broken = Set<String>()
        var diagnostics: [Diagnostic] = []
        if entries.isEmpty {
            diagnostics.append(Diagnostic(at: nil, "no spec files under '\(root)/' at \(snapshot.revision.commit == "worktree" ? "the working tree" : "commit " + snapshot.revision.shortCommit): run `trueup init` or pass --path"))
        }
        var seen = Set<String>()
        for entry in entries where entry.kind == .file && (entry.path.hasSuffix(".yaml") || entry.path.hasSuffix(".yml")) {
            seen.insert(entry.objectID)
            let result: Result<[Document], Diagnostic>
            if let cached = parsed[entry.objectID] {
                result = cached.map { $0 }
            } else {
                do {
                    let bytes = try snapshot.contents(of: entry.path)
                    result = .success(try yaml.load(bytes, file: entry.path))
                } catch let error as Diagnostic {
                    result = .failure(error)
                } catch {
                    result = .failure(Diagnostic(at: SourceLocation(file: entry.path, line: 1, column: 1), "cannot read the file: \(error)"))
                }
                parsed[entry.objectID] = result
            }
            switch result {
            case .success(let documents):
                files.append(SpecFile(path: entry.path, objectID: entry.objectID, documents: Self.relocated(documents, to: entry.path)))
            case .failure(var error):
                error.location?.file = entry.path
                diagnostics.append(error)
                broken.insert(entry.path)
            }
        }
        // Forget blobs no longer in the tree so the cache stays as large as one revision.
        parsed = parsed.filter { seen.contains($0.key) }
        var state = DesiredStateBuilder(snapshot: snapshot, root: root).build(files: files, entries: entries, brokenFiles: broken, only: environment)
        state.diagnostics = (state.diagnostics + diagnostics).sorted()
        return state
    }

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
