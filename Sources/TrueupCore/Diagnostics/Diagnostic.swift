/// A problem found in the specs: what went wrong, where, and what to do.
///
/// Rendered one per line as `path/in/repo.yaml:LINE:COL: message (field.path)`, sorted, so that
/// editors and CI annotate the right place and two runs print the same thing.
public struct Diagnostic: Error, Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    public var location: SourceLocation?
    /// What went wrong, followed by what to do about it.
    public var message: String
    /// The field path within the document, e.g. `spec.gates[0].metrics.auc`.
    public var fieldPath: String?
    /// The environment whose desired state this was found in, when it depends on one.
    public var environment: String?

    public init(
        _ severity: Severity = .error, at location: SourceLocation?, _ message: String,
        field fieldPath: String? = nil, environment: String? = nil
    ) {
        self.severity = severity
        self.location = location
        self.message = message
        self.fieldPath = fieldPath
        self.environment = environment
    }

    public static func < (a: Diagnostic, b: Diagnostic) -> Bool {
        let la = a.location ?? SourceLocation(file: "", line: 0, column: 0)
        let lb = b.location ?? SourceLocation(file: "", line: 0, column: 0)
        if la != lb { return la < lb }
        return (a.message, a.fieldPath ?? "", a.environment ?? "") < (b.message, b.fieldPath ?? "", b.environment ?? "")
    }

    public var description: String {
        var line = ""
        if let location { line += "\(location): " }
        if severity == .warning { line += "warning: " }
        line += message
        var context: [String] = []
        if let fieldPath, !fieldPath.isEmpty { context.append(fieldPath) }
        if let environment { context.append("\(environment.contains(",") ? "environments" : "environment") \(environment)") }
        if !context.isEmpty { line += " (\(context.joined(separator: ", ")))" }
        return line
    }
}

/// Several diagnostics thrown together: validation reports every problem, not the first.
public struct Diagnostics: Error, Sendable, CustomStringConvertible {
    public var all: [Diagnostic]

    public init(_ all: [Diagnostic]) { self.all = all.sorted() }

    public var errors: [Diagnostic] { all.filter { $0.severity == .error } }
    public var description: String { all.map(\.description).joined(separator: "\n") }
}
