/// The last step of a build: every problem found, once, in a stable order.
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
