import Foundation
import Synchronization


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

    /// - Parameters:
    ///   - files: parsed spec files (YAML files under `root`).
    ///   - entries: every entry under `root`, to refuse symlinks and stray files.
    ///   - brokenFiles: files under `root` that failed to parse (their errors are reported by the caller).
    ///   - only: build just this environment (and what it extends).
    public func build(files: [SpecFile], entries: [SourceEntry], brokenFiles: Set<String> = [], only: String? = nil) -> DesiredState {
        var run = BuildRun(builder: self)
        run.collect(files: files, entries: entries, brokenFiles: brokenFiles)
        let names = run.folders.values.filter { $0.environment != nil }.map(\.name).sorted()
        if let only, !names.contains(only) {
            let known = names.joined(separator: ", ")
            run.diagnostics.append(Diagnostic(at: nil, "no environment named '\(only)' under \(root)/ (found: \(known.isEmpty ? "none" : known)): create \(root)/\(only)/environment.yaml or fix --env"))
        }
        let environments = buildEach(names.filter { only == nil || only == $0 }, run: &run, all: Set(names))
        if only == nil { run.warnUnusedBases() }
        return DesiredState(revision: snapshot.revision, environments: environments, diagnostics: Diagnostics.merged(run.diagnostics))
    }
}

extension DesiredStateBuilder {
    /// What validating one resource found.
    struct Validated: Sendable {
        var resource: Resource?
        var diagnostics: [Diagnostic]

        /// The same result for the same declaration in another environment.
        func moved(from environment: String, to other: String) -> Validated {
            var copy = self
            copy.resource?.environment = other
            for i in copy.diagnostics.indices where copy.diagnostics[i].environment == environment {
                copy.diagnostics[i].environment = other
            }
            return copy
        }
    }

    /// Assembles the environments named from the collected folders.
    ///
    /// Settings and extends are resolved per environment on the calling thread, and each
    /// environment's overlays merged on every core; the resources of all
    /// environments are then validated on every core when the snapshot can be opened once per
    /// thread (validating resources is most of what remains once files are parsed, and one
    /// environment per thread would leave a core idle whenever there are more environments than
    /// cores); references and the graph follow per environment. Results, and so the order of
    /// diagnostics, are the same as one thread would give.
    func buildEach(_ names: [String], run: inout BuildRun, all: Set<String>) -> [String: DesiredEnvironment] {
        var plans: [BuildRun.Plan] = []
        for name in names {
            if let plan = run.planEnvironment(name, all: all) { plans.append(plan) }
        }
        let prepared = BuildRun.merge(plans)
        let work = prepared.indices.flatMap { e in prepared[e].declared.indices.map { (e, $0) } }
        // Results are moved, never copied: copying thousands of resources costs a retain per field.
        let byEnvironment = validateAll(work, prepared, collected: run)
        // Each environment's resources, references and graph, on every core (they need no snapshot).
        // Consumed, so that each slot's array is the only reference to it: popping from a shared
        // one copied the environment's every resource first.
        let slots = Mutex(consume byEnvironment)
        let jobs = prepared
        let finished = EveryCore.map(jobs.count) { index in
            var results = slots.withLock { slots in
                defer { slots[index] = [] }
                return slots[index]
            }
            var diagnostics: [Diagnostic] = []
            var resources: [ResourceID: Resource] = [:]
            resources.reserveCapacity(results.count)
            var valid = true
            while let slot = results.popLast() {
                guard let result = slot else { preconditionFailure("a resource of \(jobs[index].name) was never validated") }
                diagnostics += result.diagnostics
                if let resource = result.resource { resources[resource.id] = resource } else { valid = false }
            }
            var environment: DesiredEnvironment?
            if valid {
                var checks = EnvironmentGraphChecks()
                environment = checks.finish(jobs[index], resources: resources)
                diagnostics += checks.diagnostics
            }
            return (environment, diagnostics)
        }
        var environments: [String: DesiredEnvironment] = [:]
        for index in jobs.indices {
            let (environment, diagnostics) = finished[index]
            run.diagnostics += diagnostics
            if let environment { environments[jobs[index].name] = environment }
        }
        return environments
    }

    /// Declarations that validate alike: the same document with the same overlays (so the same
    /// tree), in environments that serve the same way. Of its environment, validating a resource
    /// reads only the name (which goes into `Resource.environment` and diagnostics), the serving
    /// backend (the rules for a Deployment depend on it) and the variables; a resource into which
    /// a variable was substituted is validated in each environment. A base shared by every
    /// environment is so validated once instead of once per environment.
    struct SharedValidation: Hashable {
        var declaredAt: [SourceLocation]
        /// For Deployments only.
        var serving: EnvironmentSettings.Backend.BackendType?

        /// Hashes where the declaration starts and ends, not every overlay between: keys that
        /// share both are rare and still told apart by `==`, and thousands of keys are hashed
        /// on one thread before validating can start.
        func hash(into hasher: inout Hasher) {
            hasher.combine(declaredAt.count)
            hasher.combine(declaredAt.first)
            if declaredAt.count > 1 { hasher.combine(declaredAt.last) }
            hasher.combine(serving)
        }
    }

    /// Validates every (environment, resource) of `work`: the results by environment, each in
    /// the order of its declarations.
    private func validateAll(_ work: [(Int, Int)], _ prepared: [BuildRun.Prepared], collected: BuildRun) -> [[Validated?]] {
        var groupOf: [SharedValidation: Int] = [:]
        var groups: [[Int]] = []
        groupOf.reserveCapacity(work.count)
        for (index, item) in work.enumerated() {
            let environment = prepared[item.0]
            let declared = environment.declared[item.1]
            let key = SharedValidation(declaredAt: declared.declaredAt, serving: declared.id.kind == .deployment ? environment.settings.serving.type : nil)
            if let group = groupOf[key] { groups[group].append(index) } else {
                groupOf[key] = groups.count
                groups.append([index])
            }
        }
        @Sendable func validate(_ item: (Int, Int), with run: inout BuildRun) -> (Validated, substituted: Bool) {
            let before = run.diagnostics.count
            let (resource, substituted) = run.validateResource(item.1, of: prepared[item.0])
            let found = Array(run.diagnostics[before...])
            run.diagnostics.removeSubrange(before...)
            return (Validated(resource: found.contains { $0.severity == .error } ? nil : resource, diagnostics: found), substituted)
        }
        let groupList = groups
        @Sendable func validateGroup(_ group: Int, with run: inout BuildRun) -> [(Int, Validated)] {
            let members = groupList[group]
            let (first, substituted) = validate(work[members[0]], with: &run)
            var results = [(members[0], first)]
            let firstEnvironment = prepared[work[members[0]].0].name
            for member in members.dropFirst() {
                let name = prepared[work[member].0].name
                results.append((member, substituted ? validate(work[member], with: &run).0 : first.moved(from: firstEnvironment, to: name)))
            }
            return results
        }
        // Straight into each environment's own array: one more array of every resource in
        // between was that many more pages for the kernel to fault in.
        var ordered = prepared.map { [Validated?](repeating: nil, count: $0.declared.count) }
        // Moved out one by one, not copied (see buildEach).
        func place(_ results: consuming [(Int, Validated)]) {
            var results = results
            while let (index, validated) = results.popLast() { ordered[work[index].0][work[index].1] = validated }
        }
        let workers = min(SnapshotWork.availableCores, 8, groups.count / Self.resourcesPerWorker)
        guard workers > 1, let opener = snapshot.opener else {
            var run = BuildRun(builder: self, folders: collected.folders, lookups: collected.lookups)
            for group in groups.indices { place(validateGroup(group, with: &run)) }
            return ordered
        }
        let folders = collected.folders, root = self.root, schemas = self.schemas, lookups = collected.lookups
        // In batches, so that the shared counter is touched rarely and a thread keeps its caches warm.
        var done = SnapshotWork.map(count: groups.count, workers: workers, batch: Self.batch, opener: opener, state: { own in
            BuildRun(builder: DesiredStateBuilder(snapshot: own, root: root, schemas: schemas), folders: folders, lookups: lookups)
        }) { run, group in validateGroup(group, with: &run) }
        var run = BuildRun(builder: self, folders: collected.folders, lookups: collected.lookups)
        for group in groups.indices { place(done[group].take() ?? validateGroup(group, with: &run)) }
        return ordered
    }

    /// Below this many resources per core, starting threads costs more than it saves.
    static let resourcesPerWorker = 64
    static let batch = 16
}

extension Diagnostics {
    /// Sorted, with the same problem found in several environments (a shared base file) reported once.
    static func merged(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        struct Key: Hashable { var location: SourceLocation?; var message: String; var field: String?; var severity: Diagnostic.Severity }
        var order: [Key] = []
        var environments: [Key: [String]] = [:]
        for d in diagnostics {
            let key = Key(location: d.location, message: d.message, field: d.fieldPath, severity: d.severity)
            if environments[key] == nil { order.append(key); environments[key] = [] }
            if let env = d.environment, !environments[key]!.contains(env) { environments[key]!.append(env) }
        }
        return order.map { key in
            let envs = environments[key]!.sorted()
            return Diagnostic(key.severity, at: key.location, key.message, field: key.field,
                              environment: envs.isEmpty ? nil : envs.joined(separator: ", "))
        }.sorted()
    }
}

/// The mutable work of one `build` call.
struct BuildRun {
    let builder: DesiredStateBuilder
    var folders: [String: DesiredStateBuilder.Folder] = [:]
    var diagnostics: [Diagnostic] = []
    var extendedFolders = Set<String>()
    private var effectiveCache: [String: Effective?] = [:]
    let lookups: RevisionLookups
    private var ownPathChecks: [PathCheck: Result<SourceEntry, RepoPathProblem>] = [:]

    struct PathCheck: Hashable {
        var raw: String
        var expectsFile: Bool
    }

    init(builder: DesiredStateBuilder, folders: [String: DesiredStateBuilder.Folder] = [:], lookups: RevisionLookups = RevisionLookups()) {
        self.builder = builder
        self.folders = folders
        self.lookups = lookups
    }

    var root: String { builder.root }

    // MARK: - Collecting folders

    mutating func collect(files: [SpecFile], entries: [SourceEntry], brokenFiles: Set<String>) {
        for entry in entries {
            let place = SpecTreePath(entry.path, root: root)
            let isYAML = entry.path.hasSuffix(".yaml") || entry.path.hasSuffix(".yml")
            if entry.kind == .symlink || entry.kind == .submodule {
                diagnostics.append(Diagnostic(at: SourceLocation(file: entry.path, line: 1, column: 1),
                    "\(entry.kind == .symlink ? "symlink" : "submodule") in the spec tree is refused: replace it with the real file or folder"))
                if let folder = place.folder { folders[String(folder), default: .init(name: String(folder))].broken = true }
                continue
            }
            if place.folder == nil, isYAML {
                diagnostics.append(Diagnostic(at: SourceLocation(file: entry.path, line: 1, column: 1),
                    "spec files belong in a folder: move it to \(root)/<environment or base>/"))
            }
        }
        for file in brokenFiles {
            if let folder = SpecTreePath(file, root: root).folder { folders[String(folder), default: .init(name: String(folder))].broken = true }
        }
        var foldersWithEnvironmentFile = Set<String>()
        var filesOf: [String: [Int]] = [:]
        var names: [String] = []
        for index in files.indices {
            guard let name = SpecTreePath(files[index].path, root: root).folder else { continue }
            let folderName = String(name)
            if filesOf[folderName] == nil { names.append(folderName) }
            filesOf[folderName, default: []].append(index)
        }
        var collected = collectFolders(names.map { filesOf[$0]! }, names: names, files: files)
        for index in names.indices.reversed() {
            var (folder, found, hasEnvironmentFile) = collected.removeLast()
            if folders[names[index]]?.broken == true { folder.broken = true }
            folders[names[index]] = folder
            diagnostics += found
            if hasEnvironmentFile { foldersWithEnvironmentFile.insert(names[index]) }
        }
        for (name, folder) in folders where folder.environment == nil {
            if foldersWithEnvironmentFile.contains(name) {
                diagnostics.append(Diagnostic(at: SourceLocation(file: "\(root)/\(name)/environment.yaml", line: 1, column: 1),
                    "environment.yaml holds no Environment document: add one with kind: Environment and metadata.name: \(name)"))
                folders[name]?.broken = true
            }
        }
    }

    /// Each folder's documents (`groups[i]` indexes the files of folder `names[i]`), with the
    /// problems found and whether the folder has an environment file. Folders are independent,
    /// so a large repository's are collected on every core: this runs between parsing and
    /// validating, when nothing else can.
    private func collectFolders(_ groups: [[Int]], names: [String], files: [SpecFile]) -> [(DesiredStateBuilder.Folder, [Diagnostic], Bool)] {
        let root = self.root
        @Sendable func collectOne(_ index: Int) -> (DesiredStateBuilder.Folder, [Diagnostic], Bool) {
            var diagnostics: [Diagnostic] = []
            var folder = DesiredStateBuilder.Folder(name: names[index])
            folder.resources.reserveCapacity(groups[index].reduce(0) { $0 + files[$1].documents.count })
            var hasEnvironmentFile = false
            for fileIndex in groups[index] {
                let file = files[fileIndex]
                let isEnvironmentFile = SpecTreePath(file.path, root: root).isEnvironmentFile
                if isEnvironmentFile { hasEnvironmentFile = true }
                for document in file.documents {
                    Self.collect(document, file: file.path, isEnvironmentFile: isEnvironmentFile, specRoot: root, into: &folder, diagnostics: &diagnostics)
                }
            }
            return (folder, diagnostics, hasEnvironmentFile)
        }
        let documents = files.reduce(0) { $0 + $1.documents.count }
        guard groups.count > 1, documents >= Self.documentsForParallelCollect else { return groups.indices.map(collectOne) }
        return EveryCore.map(groups.count, collectOne)
    }

    /// Below this many documents, collecting on one thread is quicker than starting others.
    static let documentsForParallelCollect = 256

    private static func collect(_ document: Document, file: String, isEnvironmentFile: Bool, specRoot: String,
                                into folder: inout DesiredStateBuilder.Folder, diagnostics: inout [Diagnostic]) {
        let root = document.root
        guard case .mapping = root.value else {
            diagnostics.append(Diagnostic(at: root.location, "a document must be a mapping with apiVersion, kind, metadata and spec, not a \(root.kindName)"))
            folder.broken = true
            return
        }
        guard let apiVersion = root["apiVersion"] else {
            diagnostics.append(Diagnostic(at: root.location, "missing required field 'apiVersion': add apiVersion: trueup/v1", field: "apiVersion"))
            folder.broken = true
            return
        }
        guard apiVersion.scalarText == "trueup/v1" else {
            diagnostics.append(Diagnostic(at: apiVersion.location, "unknown apiVersion '\(apiVersion.scalarText ?? apiVersion.kindName)': use trueup/v1", field: "apiVersion"))
            folder.broken = true
            return
        }
        guard let kindNode = root["kind"] else {
            diagnostics.append(Diagnostic(at: root.location, "missing required field 'kind': use one of \(ResourceKind.allCases.map(\.rawValue).joined(separator: ", "))", field: "kind"))
            folder.broken = true
            return
        }
        guard let kindText = kindNode.scalarText, let kind = ResourceKind(rawValue: kindText) else {
            let text = kindNode.scalarText ?? kindNode.kindName
            let names = ResourceKind.allCases.map(\.rawValue)
            let hint = SchemaValidator.closest(to: text, in: names).map { "did you mean '\($0)'?" } ?? "use one of \(names.joined(separator: ", "))"
            diagnostics.append(Diagnostic(at: kindNode.location, "unknown kind '\(text)': \(hint)", field: "kind"))
            folder.broken = true
            return
        }
        guard let nameNode = root["metadata"]?["name"], let name = nameNode.scalarText, !nameNode.isNull else {
            diagnostics.append(Diagnostic(at: root["metadata"]?.location ?? root.location, "missing required field 'name': every resource needs metadata.name", field: "metadata.name"))
            folder.broken = true
            return
        }
        if kind == .environment {
            guard isEnvironmentFile else {
                diagnostics.append(Diagnostic(at: kindNode.location, "an Environment must be in \(specRoot)/\(folder.name)/environment.yaml, not in \(file): move it"))
                folder.broken = true
                return
            }
            if let existing = folder.environment {
                diagnostics.append(Diagnostic(at: root.location, "a second Environment in environment.yaml (the first is at line \(existing.location.line)): keep one"))
                folder.broken = true
                return
            }
            folder.environment = root
            folder.environmentFile = file
            return
        }
        let id = ResourceID(kind, name)
        if let first = folder.resources[id] {
            diagnostics.append(Diagnostic(at: nameNode.location,
                "\(id) is declared twice in \(specRoot)/\(folder.name)/ (first at \(first.declaredAt[0])): remove one or rename it",
                field: "metadata.name"))
            folder.broken = true
            return
        }
        folder.resources[id] = .init(id: id, node: root, declaredAt: [root.location])
    }

    // MARK: - Environments

    /// An environment whose settings are valid and whose resources are merged, ready to validate.
    struct Prepared: Sendable {
        var name: String
        var settings: EnvironmentSettings
        var definedAt: SourceLocation
        var declared: [DesiredStateBuilder.Declared]
        var variables: Variables
    }

    /// An environment whose settings are valid and whose extends resolved: what merging its
    /// resources needs. Planning reports every problem, on one thread; merging (most of the work:
    /// a thousand declarations over the inherited ones) reports none, and runs on every core.
    struct Plan {
        var name: String
        var settings: EnvironmentSettings
        var definedAt: SourceLocation
        var variables: Variables
        var resources: Resources

        enum Resources {
            /// Already merged: the environment is also extended by another, which merged it first.
            case merged(Effective)
            /// The inherited resources, in `extends` order, and the folder's own, to merge.
            case toMerge(inherited: [Effective], own: [ResourceID: DesiredStateBuilder.Declared])
        }
    }

    /// Settings and extends of one environment; nil (with its errors reported) when they are invalid.
    mutating func planEnvironment(_ name: String, all environmentNames: Set<String>) -> Plan? {
        guard let folder = folders[name], let envNode = folder.environment else { return nil }
        let errorsBefore = errorCount
        guard let settings = environmentSettings(folder: folder, node: envNode, all: environmentNames) else { return nil }
        if folder.broken { return nil }

        let resources: Plan.Resources
        if effectiveCache[name] != nil || isExtendedByAnotherEnvironment(name) {
            // Merged here, and cached, so that what extends it finds it (and its problems are found once).
            var visiting: [String] = []
            guard let effective = effectiveResources(name, visiting: &visiting, extendsFrom: envNode) else { return nil }
            resources = .merged(effective)
        } else {
            var visiting = [name]
            guard let inherited = inheritedResources(of: folder, visiting: &visiting, extendsFrom: envNode) else { return nil }
            resources = .toMerge(inherited: inherited, own: folder.resources)
        }
        guard errorCount == errorsBefore else { return nil }
        let variables = Variables(values: settings.variables, environment: name, commit: builder.snapshot.revision.commit)
        return Plan(name: name, settings: settings, definedAt: envNode.location, variables: variables, resources: resources)
    }

    /// Whether an environment folder is named in another environment's `spec.extends` (bases
    /// extend nothing, so only environments can).
    private func isExtendedByAnotherEnvironment(_ name: String) -> Bool {
        folders.values.contains { folder in
            folder.name != name && (folder.environment?["spec"]?["extends"]?.items ?? []).contains { $0.scalarText == name }
        }
    }

    /// Each planned environment's resources merged over what it inherits: on every core when
    /// there are many, since environments do not share what is merged into them.
    static func merge(_ plans: [Plan]) -> [Prepared] {
        @Sendable func prepare(_ plan: Plan) -> Prepared {
            let effective: Effective
            switch plan.resources {
            case .merged(let merged): effective = merged
            case .toMerge(let inherited, let own): effective = merging(inherited, own: own)
            }
            return Prepared(name: plan.name, settings: plan.settings, definedAt: plan.definedAt, declared: effective.declared, variables: plan.variables)
        }
        let declarations = plans.reduce(0) { total, plan in
            guard case .toMerge(let inherited, let own) = plan.resources else { return total }
            return total + own.count + inherited.reduce(0) { $0 + $1.declared.count }
        }
        guard plans.count > 1, declarations >= Self.documentsForParallelCollect else { return plans.map(prepare) }
        return EveryCore.map(plans.count) { prepare(plans[$0]) }
    }

    /// One resource after nulls, variables, its schema and the rules no schema can express; nil
    /// (with its errors reported) when it is invalid. And whether a variable was substituted
    /// into it, which makes it this environment's own.
    mutating func validateResource(_ index: Int, of environment: Prepared) -> (Resource?, substituted: Bool) {
        validate(environment.declared[index], environment: environment.name, variables: environment.variables, settings: environment.settings)
    }

    var errorCount: Int { diagnostics.lazy.filter { $0.severity == .error }.count }

    private mutating func environmentSettings(folder: DesiredStateBuilder.Folder, node: Node, all: Set<String>) -> EnvironmentSettings? {
        let name = folder.name
        let cleaned = Overlay.removingNulls(node)
        let (value, problems) = SchemaValidator.validate(cleaned, against: builder.schemas[.environment]!)
        diagnostics += problems
        guard let value else { return nil }
        let spec = value["spec"] ?? .object([:])
        var ok = true
        func fail(_ path: String, _ message: String) {
            diagnostics.append(Diagnostic(at: location(in: cleaned, path), message, field: path))
            ok = false
        }
        if let declared = value["metadata"]?["name"]?.stringValue, declared != name {
            fail("metadata.name", "the Environment is named '\(declared)' but its folder is '\(name)': make them the same")
        }
        if !Self.isValidName(name) {
            fail("metadata.name", "'\(name)' is not a valid environment folder name: use lowercase letters, digits and '-', starting with a letter, at most 63 characters")
        }
        var interval = 600.0
        if let text = spec["interval"]?.stringValue {
            if let seconds = DurationSyntax.seconds(text), seconds >= 1 { interval = seconds } else { fail("spec.interval", "'\(text)' is not a duration of at least 1s: write e.g. 30s, 10m or 1h") }
        }
        var windows: [EnvironmentSettings.Window] = []
        for (i, window) in (spec["windows"]?.arrayValue ?? []).enumerated() {
            let schedule = window["schedule"]?.stringValue ?? ""
            do { _ = try CronSchedule(schedule) } catch { fail("spec.windows[\(i)].schedule", "\(error): write five fields, e.g. \"0 17 * * 5\"") }
            let durationText = window["duration"]?.stringValue ?? ""
            guard let duration = DurationSyntax.seconds(durationText), duration > 0 else {
                fail("spec.windows[\(i)].duration", "'\(durationText)' is not a positive duration: write e.g. 2h or 64h")
                continue
            }
            windows.append(.init(kind: .init(rawValue: window["kind"]?.stringValue ?? "deny") ?? .deny, schedule: schedule, duration: duration))
        }
        let promotionFrom = spec["promotion"]?["from"]?.stringValue
        if let from = promotionFrom {
            if from == name { fail("spec.promotion.from", "an environment cannot promote from itself: name another environment") }
            else if !all.contains(from) { fail("spec.promotion.from", "promotion source '\(from)' is not an environment under \(root)/: fix the name (environments: \(all.sorted().joined(separator: ", ")))") }
        }
        func backend(_ role: String) -> EnvironmentSettings.Backend {
            guard let b = spec["backends"]?[role] else { return .local }
            let type = EnvironmentSettings.Backend.BackendType(rawValue: b["type"]?.stringValue ?? "local") ?? .local
            let url = b["url"]?.stringValue
            if type != .local, url == nil { fail("spec.backends.\(role)", "\(type == .mlflow ? "an" : "a") \(type.rawValue) backend needs a url, e.g. url: \"http://127.0.0.1:\(type == .mlflow ? 5000 : 8265)\"") }
            if type == .mlflow, role == "jobs" || role == "serving" || role == "data" {
                fail("spec.backends.\(role).type", "mlflow holds models and prompts only: use local or ray for \(role)")
            }
            if type == .ray, role == "registry" || role == "data" {
                fail("spec.backends.\(role).type", "ray runs jobs and serving only: use local or mlflow for \(role)")
            }
            return .init(type: type, url: url, tokenFromEnv: b["tokenFromEnv"]?.stringValue)
        }
        let jobs = backend("jobs"), serving = backend("serving"), registry = backend("registry")
        var artifacts: EnvironmentSettings.Artifacts?
        if let node = spec["artifacts"] {
            let type = node["type"]?.stringValue ?? "local"
            let path = node["path"]?.stringValue
            if type == "path", path?.hasPrefix("/") != true {
                fail("spec.artifacts.path", "a path artifact store needs the absolute folder where the shared filesystem is mounted on trueup's machine and on every node, e.g. {type: path, path: /mnt/shared/trueup}")
            }
            artifacts = .init(type: type, path: path)
        }
        let storeType = artifacts?.type ?? (registry.type == .mlflow ? "mlflow" : "local")
        for (role, chosen) in [("jobs", jobs), ("serving", serving)] where chosen.type == .ray && storeType == "local" {
            fail(spec["artifacts"] == nil ? "spec.backends.\(role)" : "spec.artifacts.type",
                 "\(role == "jobs" ? "jobs run" : "serving runs") on Ray, which cannot read the local artifact store on trueup's disk: set spec.artifacts to {type: path, path: <a folder mounted at the same path on trueup's machine and on every node>}, or use an mlflow registry")
        }
        var variables: [String: String] = [:]
        if let varsNode = cleaned["spec"]?["variables"]?.entries {
            for entry in varsNode { variables[entry.key] = entry.value.scalarText ?? "" }
        }
        let settings = EnvironmentSettings(
            name: name,
            extends: (spec["extends"]?.arrayValue ?? []).compactMap(\.stringValue),
            sync: .init(rawValue: spec["sync"]?.stringValue ?? "manual") ?? .manual,
            selfHeal: spec["selfHeal"]?.boolValue ?? false,
            prune: spec["prune"]?.boolValue ?? false,
            interval: interval,
            promotionFrom: promotionFrom,
            windows: windows,
            registry: registry, jobs: jobs, serving: serving, data: backend("data"),
            variables: variables, artifacts: artifacts)
        return ok ? settings : nil
    }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63, (97...122).contains(first), bytes.last != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "-") }
    }

    func location(in node: Node, _ dotted: String) -> SourceLocation {
        var current = node
        for part in dotted.split(separator: ".") {
            var key = Substring(part)
            var index: Int?
            if let open = part.firstIndex(of: "[") {
                key = part[..<open]
                index = Int(part[part.index(after: open)...].dropLast())
            }
            guard let next = current[String(key)] else { return current.location }
            current = next
            if let index, let items = current.items, index < items.count { current = items[index] }
        }
        return current.location
    }

    /// A folder's resources with everything it extends merged underneath.
    ///
    /// Kept in the order they were first met rather than sorted: what is built from them is
    /// sorted where it is shown (diagnostics, the graph's order), and sorting a thousand
    /// identities per environment here was a fifth of the work done on one thread between
    /// parsing and validating.
    struct Effective {
        private(set) var declared: [DesiredStateBuilder.Declared] = []
        private var position: [ResourceID: Int] = [:]

        /// Adds a declaration, merging it over the one of the same identity already there.
        mutating func add(_ declaration: DesiredStateBuilder.Declared) {
            if let index = position[declaration.id] {
                let existing = declared[index]
                declared[index] = .init(id: existing.id, node: Overlay.merge(existing.node, declaration.node),
                                        declaredAt: existing.declaredAt + declaration.declaredAt)
            } else {
                position[declaration.id] = declared.count
                declared.append(declaration)
            }
        }

        mutating func reserveCapacity(_ count: Int) {
            declared.reserveCapacity(count)
            position.reserveCapacity(count)
        }
    }

    /// A folder's resources with everything it extends merged underneath, or nil on error.
    private mutating func effectiveResources(_ name: String, visiting: inout [String], extendsFrom envNode: Node?) -> Effective? {
        if let cached = effectiveCache[name] { return cached }
        guard let folder = folders[name] else { return nil }
        visiting.append(name)
        defer { visiting.removeLast() }
        let result = inheritedResources(of: folder, visiting: &visiting, extendsFrom: envNode).map { Self.merging($0, own: folder.resources) }
        effectiveCache[name] = .some(result)
        return result
    }

    /// The effective resources of each folder `folder` extends, in `extends` order, or nil (with
    /// the problems reported) when one cannot be had. `visiting` ends with `folder`'s name.
    private mutating func inheritedResources(of folder: DesiredStateBuilder.Folder, visiting: inout [String], extendsFrom envNode: Node?) -> [Effective]? {
        var inherited: [Effective] = []
        var ok = !folder.broken
        let extendsNode = (envNode ?? folder.environment)?["spec"]?["extends"]
        for (i, item) in (extendsNode?.items ?? []).enumerated() {
            guard let parent = item.scalarText else { continue }
            let field = "spec.extends[\(i)]"
            if let start = visiting.firstIndex(of: parent) {
                let cycle = (visiting[start...] + [parent]).joined(separator: " -> ")
                diagnostics.append(Diagnostic(at: item.location, "extends cycle: \(cycle): remove one of these extends", field: field))
                ok = false
                continue
            }
            guard folders[parent] != nil else {
                let known = folders.keys.filter { $0 != folder.name }.sorted()
                let hint = SchemaValidator.closest(to: parent, in: known).map { "did you mean '\($0)'?" } ?? "create \(root)/\(parent)/ or fix the name (folders: \(known.joined(separator: ", ")))"
                diagnostics.append(Diagnostic(at: item.location, "extends unknown folder '\(parent)': \(hint)", field: field))
                ok = false
                continue
            }
            extendedFolders.insert(parent)
            guard let resources = effectiveResources(parent, visiting: &visiting, extendsFrom: nil) else { ok = false; continue }
            inherited.append(resources)
        }
        return ok ? inherited : nil
    }

    /// `own` merged over `inherited`, each inherited folder's over the ones before it.
    static func merging(_ inherited: [Effective], own: [ResourceID: DesiredStateBuilder.Declared]) -> Effective {
        var merged = Effective()
        for resources in inherited {
            if merged.declared.isEmpty {
                merged = resources
            } else {
                for declared in resources.declared { merged.add(declared) }
            }
        }
        merged.reserveCapacity(merged.declared.count + own.count)
        for declared in own.values { merged.add(declared) }
        return merged
    }

    mutating func warnUnusedBases() {
        // A broken folder (say, an environment.yaml without an Environment) already has its error.
        for (name, folder) in folders where folder.environment == nil && !folder.broken && !extendedFolders.contains(name) {
            let location = folder.resources.values.map { $0.declaredAt[0] }.min()
            diagnostics.append(Diagnostic(.warning, at: location, "base '\(name)' is not extended by any environment, so none of its resources is reconciled: add it to an environment's spec.extends or remove it"))
        }
    }

    // MARK: - Resources

    /// The resource, or nil (with its errors reported) when it is invalid; and whether a
    /// variable was substituted into it. When none was, the same declaration validates alike in
    /// every environment that serves the same way (see `DesiredStateBuilder.SharedValidation`).
    private mutating func validate(_ declared: DesiredStateBuilder.Declared, environment: String, variables: Variables, settings: EnvironmentSettings) -> (Resource?, substituted: Bool) {
        var node = Overlay.removingNulls(declared.node)
        var substituted = false
        // Variables apply to values under spec and metadata labels/annotations, never to identity.
        if case .mapping(var entries) = node.value {
            for i in entries.indices {
                switch entries[i].key {
                case "spec":
                    if let changed = variables.substituteIfAny(in: entries[i].value, path: FieldPath([.key("spec")]), diagnostics: &diagnostics) {
                        entries[i].value = changed
                        substituted = true
                    }
                case "metadata":
                    if case .mapping(var meta) = entries[i].value.value {
                        var metaChanged = false
                        for j in meta.indices where meta[j].key == "labels" || meta[j].key == "annotations" {
                            if let changed = variables.substituteIfAny(in: meta[j].value, path: FieldPath([.key("metadata"), .key(meta[j].key)]), diagnostics: &diagnostics) {
                                meta[j].value = changed
                                metaChanged = true
                            }
                        }
                        if metaChanged {
                            entries[i].value = Node(.mapping(meta), at: entries[i].value.location)
                            substituted = true
                        }
                    }
                default: break
                }
            }
            if substituted { node = Node(.mapping(entries), at: node.location) }
        }
        return (validateSubstituted(node, declared, environment: environment, settings: settings), substituted)
    }

    private mutating func validateSubstituted(_ node: Node, _ declared: DesiredStateBuilder.Declared, environment: String, settings: EnvironmentSettings) -> Resource? {
        let (typed, problems) = SchemaValidator.validate(node, against: builder.schemas[declared.id.kind]!, environment: environment)
        diagnostics += problems
        guard let typed else { return nil }
        var resource = Resource(
            id: declared.id, environment: environment, spec: typed["spec"] ?? .object([:]),
            labels: (typed["metadata"]?["labels"]?.objectValue ?? [:]).compactMapValues(\.stringValue),
            annotations: (typed["metadata"]?["annotations"]?.objectValue ?? [:]).compactMapValues(\.stringValue),
            node: node, declaredAt: declared.declaredAt)
        let before = errorCount
        checkRules(&resource, settings: settings)
        return errorCount == before ? resource : nil
    }

    private mutating func fail(_ resource: Resource, _ path: String, _ message: String) {
        diagnostics.append(Diagnostic(at: resource.location(of: FieldPath.parse(path)), "\(resource.id): \(message)", field: path, environment: resource.environment))
    }

    /// Rules a schema cannot express (DESIGN §2), and the references that become graph edges.
    private mutating func checkRules(_ resource: inout Resource, settings: EnvironmentSettings) {
        let spec = resource.spec
        var refs: [ResourceID] = []
        func ref(_ kind: ResourceKind, _ value: JSONValue?) {
            if let name = value?.stringValue { refs.append(ResourceID(kind, name)) }
        }
        func exactlyOne(_ fields: [String], of what: String = "source") {
            let present = fields.filter { spec[$0] != nil }
            if present.count != 1 {
                let list = fields.map { "spec.\($0)" }.joined(separator: ", ")
                let message = present.isEmpty
                    ? "needs exactly one \(what), but has none: set one of \(list)"
                    : "needs exactly one \(what), but has \(present.map { "spec.\($0)" }.joined(separator: " and ")): keep one"
                fail(resource, present.count > 1 ? "spec.\(present[1])" : "spec", message)
            }
        }
        func repoPath(_ field: String, _ expect: RepoPath.Expect) {
            guard let raw = spec[field]?.stringValue else { return }
            switch checkPath(raw, expect) {
            case .failure(let problem): fail(resource, "spec.\(field)", problem.message)
            case .success: break
            }
        }
        func duration(_ path: String, _ value: JSONValue?) {
            guard let text = value?.stringValue else { return }
            if (DurationSyntax.seconds(text) ?? 0) <= 0 {
                fail(resource, path, "'\(text)' is not a positive duration: write e.g. 30s, 10m or 1h30m")
            }
        }
        func gates() {
            for (i, gate) in (spec["gates"]?.arrayValue ?? []).enumerated() {
                ref(.job, gate["job"])
                for (metric, threshold) in (gate["metrics"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    if let text = threshold.stringValue, Threshold(text) == nil {
                        fail(resource, "spec.gates[\(i)].metrics.\(metric)", "'\(text)' is not a threshold: write e.g. \">= 0.85\" or \"<= 120\"")
                    }
                }
            }
        }
        switch resource.id.kind {
        case .dataset:
            exactlyOne(["path", "uri", "fromJob"])
            if spec["uri"] != nil, spec["sha256"] == nil {
                fail(resource, "spec.uri", "an external uri needs spec.sha256 to pin its content: add the file's sha256")
            }
            if let raw = spec["path"]?.stringValue {
                switch checkPath(raw, .file) {
                case .failure(let problem): fail(resource, "spec.path", problem.message)
                case .success(let entry):
                    if let pinned = spec["sha256"]?.stringValue, let actual = digest(of: entry), actual != pinned {
                        fail(resource, "spec.sha256", "'\(raw)' has sha256 \(actual) \(revisionWords), not the pinned \(pinned): update spec.sha256 if the change is intended")
                    }
                }
            }
            ref(.job, spec["fromJob"])
            ref(.job, spec["validate"])
        case .job:
            repoPath("code", .directory)
            if let schedule = spec["trigger"]?["schedule"]?.stringValue {
                do { _ = try CronSchedule(schedule) } catch { fail(resource, "spec.trigger.schedule", "\(error): write five fields, e.g. \"0 2 * * *\"") }
            }
            duration("spec.timeout", spec["timeout"])
            for name in spec["inputs"]?["datasets"]?.arrayValue ?? [] { ref(.dataset, name) }
            for name in spec["inputs"]?["models"]?.arrayValue ?? [] { ref(.model, name) }
        case .model:
            exactlyOne(["version", "fromJob", "artifact"])
            ref(.job, spec["fromJob"])
            gates()
        case .prompt:
            exactlyOne(["template", "templateFile"], of: "template")
            repoPath("templateFile", .file)
            gates()
        case .deployment:
            exactlyOne(["model", "prompt"], of: "thing to serve")
            ref(.model, spec["model"])
            ref(.prompt, spec["prompt"])
            repoPath("code", .directory)
            duration("spec.health.timeout", spec["health"]?["timeout"])
            switch settings.serving.type {
            case .ray:
                if spec["importPath"] == nil { fail(resource, "spec", "serving runs on ray in this environment, which needs spec.importPath (module:app): add it") }
            default:
                if spec["command"] == nil { fail(resource, "spec", "serving runs locally in this environment, which needs spec.command: add it") }
                if spec["code"] == nil, spec["command"] != nil { fail(resource, "spec", "spec.command needs spec.code, the repository folder it runs in: add it") }
            }
        case .environment:
            break
        }
        for (i, dep) in (spec["dependsOn"]?.arrayValue ?? []).enumerated() {
            if let text = dep.stringValue, let id = ResourceID(parsing: text) { refs.append(id) } else {
                fail(resource, "spec.dependsOn[\(i)]", "'\(dep.stringValue ?? "")' is not Kind/name: write e.g. Job/train-churn")
            }
        }
        // Sorted, then repeats dropped: a resource has a handful of references, too few to be
        // worth hashing into a set.
        refs.sort()
        var unique: [ResourceID] = []
        unique.reserveCapacity(refs.count)
        for ref in refs where unique.last != ref { unique.append(ref) }
        resource.dependencies = unique
    }

    var revisionWords: String {
        builder.snapshot.revision.commit == "worktree" ? "in the working tree" : "at commit \(builder.snapshot.revision.shortCommit)"
    }

    private mutating func checkPath(_ raw: String, _ expect: RepoPath.Expect) -> Result<SourceEntry, RepoPathProblem> {
        // The same code folder is named by every job of a project. Remembered by this thread
        // only: a project's resources are declared together and so validated together, and
        // another thread that checks the path again walks folders the snapshot has already read
        // (see `GitCommitSnapshot.folders`), which cost less than sharing the answers under a
        // lock did.
        let key = PathCheck(raw: raw, expectsFile: expect == .file)
        if let known = ownPathChecks[key] { return known }
        let result = RepoPath.check(raw, expect: expect, in: builder.snapshot)
        ownPathChecks[key] = result
        return result
    }

    private mutating func digest(of entry: SourceEntry) -> String? {
        if let known = lookups.knownDigest(of: entry.objectID) { return known }
        guard let bytes = try? builder.snapshot.contents(of: entry) else { return nil }
        let hex = ContentDigest.sha256(bytes)
        lookups.remember(digest: hex, of: entry.objectID)
        return hex
    }

}

extension FieldPath {
    /// Parses `spec.gates[0].metrics.auc`.
    public static func parse(_ text: String) -> FieldPath {
        var components: [Component] = []
        for part in text.split(separator: ".") {
            var rest = Substring(part)
            if let open = rest.firstIndex(of: "[") {
                let key = rest[..<open]
                if !key.isEmpty { components.append(.key(String(key))) }
                rest = rest[open...]
                while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                    if let i = Int(rest[rest.index(after: rest.startIndex)..<close]) { components.append(.index(i)) }
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                components.append(.key(String(rest)))
            }
        }
        return FieldPath(components)
    }
}
