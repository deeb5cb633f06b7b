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

    /// - Parameters:
    ///   - files: parsed spec files (YAML files under `root`).
    ///   - entries: every entry under `root`, to refuse symlinks and stray files.
    ///   - brokenFiles: files under `root` that failed to parse (their errors are reported by the caller).
    ///   - only: build just this environment (and what it extends).
    ///   - keeping: what to hand back of each valid environment (the diagnostics are the same).
    public func build(files: [SpecFile], entries: [SourceEntry], brokenFiles: Set<String> = [], only: String? = nil, keeping: Keeping = .everything) -> DesiredState {
        var run = BuildRun(builder: self)
        run.collect(files: files, entries: entries, brokenFiles: brokenFiles)
        let names = run.folders.values.filter { $0.environment != nil }.map(\.name).sorted()
        if let only, !names.contains(only) {
            let known = names.joined(separator: ", ")
            run.diagnostics.append(Diagnostic(at: nil, "no environment named '\(only)' under \(root)/ (found: \(known.isEmpty ? "none" : known)): create \(root)/\(only)/environment.yaml or fix --env"))
        }
        let chosen = names.filter { only == nil || only == $0 }
        var environments = keeping == .checksOnly ? checkEach(chosen, run: &run, all: Set(names)) : buildEach(chosen, run: &run, all: Set(names))
        run.checkPromotionRegistries(&environments)
        if only == nil { run.warnUnusedBases() }
        return DesiredState(revision: snapshot.revision, environments: environments, diagnostics: Diagnostics.merged(run.diagnostics))
    }
}
