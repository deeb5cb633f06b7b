import TrueupCore

/// Search filters that select trueup's own names in as few requests as the URL allows.
enum MLflowFilter {
    /// Prompts and their versions are hidden from searches that do not ask for them.
    static let isPrompt = "tags.`mlflow.prompt.is_prompt` = 'true'"

    /// `name IN (...)` clauses covering `names`, each at most `budget` characters of names long.
    static func nameClauses(_ names: Set<String>, budget: Int) throws -> [String] {
        var clauses: [String] = []
        var current: [String] = []
        var length = 0
        for name in names.sorted() {
            try checkName(name, kind: "name")
            if !current.isEmpty, length + name.count + 3 > budget {
                clauses.append(clause(current))
                current = []
                length = 0
            }
            current.append(name)
            length += name.count + 3
        }
        if !current.isEmpty { clauses.append(clause(current)) }
        return clauses
    }

    static func clause(_ names: [String]) -> String {
        "name IN (" + names.map { "'\($0)'" }.joined(separator: ",") + ")"
    }

    /// MLflow's filter language has no escape for a quote inside a string.
    static func checkName(_ name: String, kind: String) throws {
        if name.isEmpty || name.contains("'") || name.contains("`") || name.contains(where: \.isNewline) {
            throw BackendError("MLflow registry: the \(kind) name \"\(name)\" cannot be searched for in MLflow (it is empty or holds a quote, backtick or line break): choose another name (spec.registryName for a Model)")
        }
    }
}
