/// A parsed spec file: its documents, as TrueupYAML produced them.
public struct SpecFile: Sendable {
    public var path: String
    public var objectID: String
    public var documents: [Document]

    public init(path: String, objectID: String, documents: [Document]) {
        self.path = path
        self.objectID = objectID
        self.documents = documents
    }
}

/// Assembles every environment's desired state from parsed spec files (DESIGN §1-2): folders into
/// environments and bases, `extends` with deep merge, variables, schema validation, rules no
/// schema can express, references and the dependency graph. Reports every problem it finds.
///
/// One file per step: CollectingFolders, ReadingEnvironmentSettings, ExtendsAndOverlays,
/// ValidatingResources with ResourceRules (the rules themselves live with each kind in
/// `Resources/Specs/`), EnvironmentGraphChecks; BuildingEnvironments runs them, in parallel where
/// it pays.
public struct DesiredStateBuilder {
    public let snapshot: SourceSnapshot
    /// The folder holding the environments, `environments` by default.
    public let root: String
    public let schemas: SchemaCatalog

    public init(snapshot: SourceSnapshot, root: String = "environments", schemas: SchemaCatalog = .shared) {
        self.snapshot = snapshot
        self.root = root
        self.schemas = schemas
    }

    /// A resource document as declared in one folder, before overlays.
    struct Declared: Sendable {
        var id: ResourceID
        var node: Node
        var declaredAt: [SourceLocation]
    }

    struct Folder: Sendable {
        var name: String
        var environment: Node?
        var environmentFile: String?
        var resources: [ResourceID: Declared] = [:]
        /// A file of the folder could not be parsed: what extends it cannot be trusted.
        var broken = false
    }

    /// What a build hands back of each valid environment.
    public enum Keeping: Sendable {
        /// Everything: settings, resources and their order (what planning needs).
        case everything
        /// Settings only, resources and order left empty: what `validate` needs. Environments
        /// are then checked one at a time, each one's resources released before the next (see
        /// `checkEach`), so that memory holds one environment's resources, not all of them.
        case checksOnly
    }

    /// Environment folders whose files (all but `environment.yaml`) the caller reads only when
    /// the builder asks, so that `validate` holds the parsed files of one environment folder at a
    /// time besides what every environment shares (see `checkEach`). At 3 x 33,000 resources the
    /// parsed files of every folder were half of the peak memory. The builder reads at once a
    /// folder that another environment extends, or whose `environment.yaml` holds no usable
    /// Environment: the caller need not tell these apart.
    public struct LaterFolders {
        /// The folders, each with an `environment.yaml` among the files handed to `build`.
        public var names: [String]
        /// The files of a folder, read and parsed now.
        public var read: (String) -> FolderFiles

        public init(names: [String], read: @escaping (String) -> FolderFiles) {
            self.names = names
            self.read = read
        }
    }

    /// What reading a folder's files found.
    public struct FolderFiles {
        public var files: [SpecFile]
        /// Files that could not be parsed, with `diagnostics` saying why.
        public var brokenFiles: Set<String>
        public var diagnostics: [Diagnostic]

        public init(files: [SpecFile], brokenFiles: Set<String>, diagnostics: [Diagnostic]) {
            self.files = files
            self.brokenFiles = brokenFiles
            self.diagnostics = diagnostics
        }
    }

    /// - Parameters:
    ///   - files: parsed spec files (YAML files under `root`).
    ///   - entries: every entry under `root`, to refuse symlinks and stray files.
    ///   - brokenFiles: files under `root` that failed to parse (their errors are reported by the caller).
    ///   - only: build just this environment (and what it extends).
    ///   - keeping: what to hand back of each valid environment (the diagnostics are the same).
    ///   - later: folders whose files are not in `files` yet. With `keeping: .checksOnly`, each is
    ///     read when its environment is checked and released after; otherwise (or when another
    ///     environment extends it) it is read at once.
    public func build(files: [SpecFile], entries: [SourceEntry], brokenFiles: Set<String> = [], only: String? = nil, keeping: Keeping = .everything,
                      later: LaterFolders? = nil) -> DesiredState {
        var run = BuildRun(builder: self)
        run.collect(files: files, entries: entries, brokenFiles: brokenFiles)
        var waiting = Set<String>()
        if let later {
            for name in later.names {
                if keeping == .checksOnly, run.folders[name]?.environment != nil, !run.isExtendedByAnotherEnvironment(name) {
                    waiting.insert(name)
                } else {
                    run.collectLater(name, from: later)
                }
            }
        }
        let names = run.folders.values.filter { $0.environment != nil }.map(\.name).sorted()
        if let only, !names.contains(only) {
            let known = names.joined(separator: ", ")
            run.diagnostics.append(Diagnostic(at: nil, "no environment named '\(only)' under \(root)/ (found: \(known.isEmpty ? "none" : known)): create \(root)/\(only)/environment.yaml or fix --env"))
        }
        let chosen = names.filter { only == nil || only == $0 }
        var environments = keeping == .checksOnly ? checkEach(chosen, run: &run, all: Set(names), waiting: waiting, later: later) : buildEach(chosen, run: &run, all: Set(names))
        run.checkPromotionRegistries(&environments)
        if only == nil { run.warnUnusedBases() }
        return DesiredState(revision: snapshot.revision, environments: environments, diagnostics: Diagnostics.merged(run.diagnostics))
    }
}
