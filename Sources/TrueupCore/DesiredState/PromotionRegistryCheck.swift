extension BuildRun {
    /// An environment promotes the versions its `promotion.from` source has live, reading them from
    /// the source's registry by name: both must use the same registry, or a version number would
    /// mean another model. An environment that breaks this is invalid (left out of the result).
    mutating func checkPromotionRegistries(_ environments: inout [String: DesiredEnvironment]) {
        for name in environments.keys.sorted() {
            guard let settings = environments[name]?.settings, let from = settings.promotionFrom,
                  let source = environments[from]?.settings else { continue }
            let mine = settings.registry, theirs = source.registry
            guard mine.type != theirs.type || mine.url != theirs.url else { continue }
            func describe(_ backend: EnvironmentSettings.Backend) -> String {
                backend.type.rawValue + (backend.url.map { " at \($0)" } ?? "")
            }
            let node = folders[name]?.environment
            diagnostics.append(Diagnostic(
                at: node.map { location(in: $0, "spec.promotion.from") },
                "\(name) promotes from \(from), whose registry is \(describe(theirs)), but its own is \(describe(mine)): promotion reads \(from)'s versions by number, so both must use the same registry; set spec.backends.registry alike in both",
                field: "spec.promotion.from", environment: name))
            environments[name] = nil
        }
    }
}
