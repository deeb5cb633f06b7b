// The first step of a build: every spec file's documents sorted into the folder (environment or
// base) they belong to, with what is wrong in the tree itself (symlinks, stray files, documents
// without a kind or a name, an identity declared twice in one folder).
extension BuildRun {
    /// Sorts `files` into `folders`, reporting what cannot be used; `entries` are every entry under
    /// the spec root, `brokenFiles` the files that did not parse.
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

    /// Reads a folder `build` was handed in `later` and collects its documents as `collect`
    /// would have: its `environment.yaml` is collected already. Returns the files' ids, which
    /// tell the folder's own declarations from inherited ones.
    @discardableResult
    mutating func collectLater(_ name: String, from later: DesiredStateBuilder.LaterFolders) -> Set<SourceFileID> {
        let read = later.read(name)
        diagnostics += read.diagnostics
        var folder = folders[name] ?? .init(name: name)
        if !read.brokenFiles.isEmpty { folder.broken = true }
        var fileIDs = Set<SourceFileID>()
        let documents = read.files.reduce(0) { $0 + $1.documents.count }
        folder.resources.reserveCapacity(folder.resources.count + documents)
        // Each file's documents are classified on every core; only adding them to the folder,
        // in file order (which decides what a duplicate's message calls first), is done here.
        let files = read.files, root = self.root
        @Sendable func classify(_ range: Range<Int>) -> [[Classified]] {
            files[range].map { file in
                let isEnvironmentFile = SpecTreePath(file.path, root: root).isEnvironmentFile
                return file.documents.map { Self.classify($0, file: file.path, isEnvironmentFile: isEnvironmentFile, specRoot: root, folder: name) }
            }
        }
        let classified = documents >= Self.documentsForParallelCollect
            ? EveryCore.map(rangesOf: files.count, atLeast: 1, classify) : [classify(0..<files.count)]
        var index = 0
        for chunk in classified {
            for documentsOfFile in chunk {
                let file = files[index]
                index += 1
                for document in documentsOfFile {
                    if case .resource(_, let node, _) = document { fileIDs.insert(node.location.fileID) }
                    Self.insert(document, file: file.path, specRoot: root, into: &folder, diagnostics: &diagnostics)
                }
            }
        }
        folders[name] = folder
        return fileIDs
    }

    /// Each folder's documents (`groups[i]` indexes the files of folder `names[i]`), with the
    /// problems found and whether the folder has an environment file. Folders are independent,
    /// so a large repository's are collected on every core: this runs between parsing and
    /// validating, when nothing else can.
    func collectFolders(_ groups: [[Int]], names: [String], files: [SpecFile]) -> [(DesiredStateBuilder.Folder, [Diagnostic], Bool)] {
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

    static func collect(_ document: Document, file: String, isEnvironmentFile: Bool, specRoot: String,
                                into folder: inout DesiredStateBuilder.Folder, diagnostics: inout [Diagnostic]) {
        insert(classify(document, file: file, isEnvironmentFile: isEnvironmentFile, specRoot: specRoot, folder: folder.name),
               file: file, specRoot: specRoot, into: &folder, diagnostics: &diagnostics)
    }

    /// What a document is, told from the document alone (so on any thread).
    enum Classified: Sendable {
        /// Not usable: the folder cannot be trusted.
        case refused(Diagnostic)
        case environment(Node)
        case resource(ResourceID, Node, nameAt: SourceLocation)
    }

    static func classify(_ document: Document, file: String, isEnvironmentFile: Bool, specRoot: String, folder: String) -> Classified {
        let root = document.root
        guard case .mapping = root.value else {
            return .refused(Diagnostic(at: root.location, "a document must be a mapping with apiVersion, kind, metadata and spec, not a \(root.kindName)"))
        }
        guard let apiVersion = root["apiVersion"] else {
            return .refused(Diagnostic(at: root.location, "missing required field 'apiVersion': add apiVersion: trueup/v1", field: "apiVersion"))
        }
        guard apiVersion.scalarText == "trueup/v1" else {
            return .refused(Diagnostic(at: apiVersion.location, "unknown apiVersion '\(apiVersion.scalarText ?? apiVersion.kindName)': use trueup/v1", field: "apiVersion"))
        }
        guard let kindNode = root["kind"] else {
            return .refused(Diagnostic(at: root.location, "missing required field 'kind': use one of \(ResourceKind.allCases.map(\.rawValue).joined(separator: ", "))", field: "kind"))
        }
        guard let kindText = kindNode.scalarText, let kind = ResourceKind(rawValue: kindText) else {
            let text = kindNode.scalarText ?? kindNode.kindName
            let names = ResourceKind.allCases.map(\.rawValue)
            let hint = SchemaValidator.closest(to: text, in: names).map { "did you mean '\($0)'?" } ?? "use one of \(names.joined(separator: ", "))"
            return .refused(Diagnostic(at: kindNode.location, "unknown kind '\(text)': \(hint)", field: "kind"))
        }
        guard let nameNode = root["metadata"]?["name"], let name = nameNode.scalarText, !nameNode.isNull else {
            return .refused(Diagnostic(at: root["metadata"]?.location ?? root.location, "missing required field 'name': every resource needs metadata.name", field: "metadata.name"))
        }
        if kind == .environment {
            guard isEnvironmentFile else {
                return .refused(Diagnostic(at: kindNode.location, "an Environment must be in \(specRoot)/\(folder)/environment.yaml, not in \(file): move it"))
            }
            return .environment(root)
        }
        return .resource(ResourceID(kind, name), root, nameAt: nameNode.location)
    }

    /// A classified document added to its folder: what only the folder can tell (a second
    /// Environment, an identity declared twice) is found here.
    static func insert(_ classified: Classified, file: String, specRoot: String, into folder: inout DesiredStateBuilder.Folder, diagnostics: inout [Diagnostic]) {
        switch classified {
        case .refused(let diagnostic):
            diagnostics.append(diagnostic)
            folder.broken = true
        case .environment(let root):
            if let existing = folder.environment {
                diagnostics.append(Diagnostic(at: root.location, "a second Environment in environment.yaml (the first is at line \(existing.location.line)): keep one"))
                folder.broken = true
                return
            }
            folder.environment = root
            folder.environmentFile = file
        case .resource(let id, let root, let nameAt):
            if let first = folder.resources[id] {
                diagnostics.append(Diagnostic(at: nameAt,
                    "\(id) is declared twice in \(specRoot)/\(folder.name)/ (first at \(first.declaredAt[0])): remove one or rename it",
                    field: "metadata.name"))
                folder.broken = true
                return
            }
            folder.resources[id] = .init(id: id, node: root, declaredAt: [root.location])
        }
    }
}
