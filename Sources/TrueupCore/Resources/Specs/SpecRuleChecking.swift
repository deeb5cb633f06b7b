/// What a kind's rules (those no schema can express, DESIGN §2) need from the build that checks
/// them: where to report, the repository at the revision, and the environment's serving backend.
/// The specs own the rules; the builder owns the repository and the diagnostics.
protocol SpecRuleChecking {
    /// Reports a problem at the field `path` (`spec.gates[0].job`), located where it was written.
    mutating func fail(_ path: String, _ message: String)
    /// Reports a problem at `location`, for field `path`.
    mutating func fail(at location: SourceLocation, _ path: String, _ message: String)
    /// Where the value at `path` was written: after overlays, in the file that set it.
    func location(of path: String) -> SourceLocation
    /// Where the resource was declared: the base document first, then each overlay.
    var declaredAt: [SourceLocation] { get }
    /// The entry of a repository path field at the revision, or what is wrong with it.
    mutating func checkPath(_ raw: String, _ expect: RepoPath.Expect) -> Result<SourceEntry, RepoPathProblem>
    /// The sha256 of a file of the revision, computed once per blob.
    mutating func digest(of entry: SourceEntry) -> String?
    /// "at commit abc123" or "in the working tree", for messages about a file's content.
    var revisionWords: String { get }
    /// The environment's serving backend (a Deployment's rules depend on it).
    var serving: EnvironmentSettings.Backend.BackendType { get }
}

extension SpecRuleChecking {
    /// Exactly one of `fields` (names under `spec`, with whether each is set) must be set.
    ///
    /// When two are set and one came from an overlay merged onto a base, the overlay is where the
    /// user made the change: the message points there and names the base's as the other half.
    mutating func exactlyOne(_ fields: [(name: String, isSet: Bool)], of what: String = "source") {
        let present = fields.filter(\.isSet).map { "spec.\($0.name)" }
        guard present.count != 1 else { return }
        guard !present.isEmpty else {
            fail("spec", "needs exactly one \(what), but has none: set one of \(fields.map { "spec.\($0.name)" }.joined(separator: ", "))")
            return
        }
        let locations = present.map { location(of: $0) }
        // Which declaration (0 = the base) wrote each field: the latest is the overlay's.
        func layer(_ location: SourceLocation) -> Int { declaredAt.lastIndex { $0.file == location.file } ?? 0 }
        let layers = locations.map(layer)
        guard let newest = layers.max(), let oldest = layers.min(), newest != oldest else {
            fail(present[1], "needs exactly one \(what), but has \(present.joined(separator: " and ")): keep one")
            return
        }
        let primary = layers.lastIndex(of: newest)!
        let others = present.indices.filter { layers[$0] < newest }.map { i in
            "\(present[i]) from \(locations[i].file):\(locations[i].line)"
        }
        let removal = present.indices.filter { layers[$0] < newest }.map { "\(present[$0]): null" }.joined(separator: " and ")
        fail(at: locations[primary], present[primary],
             "needs exactly one \(what), but this overlay sets \(present[primary]) onto a base that has \(others.joined(separator: " and ")): keep one (write \(removal) here to drop the base's)")
    }

    /// A repository path field: relative, inside the repository, present, and of the kind expected.
    mutating func repositoryPath(_ field: String, _ raw: String?, _ expect: RepoPath.Expect) {
        guard let raw else { return }
        if case .failure(let problem) = checkPath(raw, expect) { fail(field, problem.message) }
    }

    /// A duration field that must be positive.
    mutating func positiveDuration(_ field: String, _ text: String?) {
        guard let text else { return }
        if (DurationSyntax.seconds(text) ?? 0) <= 0 {
            fail(field, "'\(text)' is not a positive duration: write e.g. 30s, 10m or 1h30m")
        }
    }

    mutating func checkGates(_ gates: [Gate]) {
        for (i, gate) in gates.enumerated() {
            for metric in gate.metrics where metric.threshold == nil {
                fail("spec.gates[\(i)].metrics.\(metric.name)", "'\(metric.text)' is not a threshold: write e.g. \">= 0.85\" or \"<= 120\"")
            }
        }
    }

    mutating func checkDependsOn(_ list: [String]) {
        for (i, text) in list.enumerated() where ResourceID(parsing: text) == nil {
            fail("spec.dependsOn[\(i)]", "'\(text)' is not Kind/name: write e.g. Job/train-churn")
        }
    }
}
