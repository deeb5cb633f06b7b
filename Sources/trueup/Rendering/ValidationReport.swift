import TrueupCore

/// `validate --format json`: stable, documented for machines (schemas/validate-output.schema.json).
struct ValidationReport {
    let state: DesiredState

    init(_ state: DesiredState) { self.state = state }

    var json: String {
        let diagnostics: [JSONValue] = state.diagnostics.map { d in
            var o: [String: JSONValue] = ["severity": .string(d.severity.rawValue), "message": .string(d.message)]
            if let l = d.location {
                o["file"] = .string(l.file)
                o["line"] = .integer(Int64(l.line))
                o["column"] = .integer(Int64(l.column))
            }
            if let f = d.fieldPath { o["field"] = .string(f) }
            if let e = d.environment { o["environment"] = .string(e) }
            return .object(o)
        }
        let report: JSONValue = .object([
            "valid": .bool(state.isValid),
            "commit": .string(state.revision.commit),
            "environments": .array(state.environments.keys.sorted().map { .string($0) }),
            "diagnostics": .array(diagnostics),
        ])
        return report.prettyJSON
    }
}
