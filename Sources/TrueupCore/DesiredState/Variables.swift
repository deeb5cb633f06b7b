/// `${vars.NAME}`, `${env.name}`, `${git.commit}` and `${git.shortCommit}` in any string of a
/// resource. An undefined variable is an error, never an empty string. `$${` writes a literal `${`.
public struct Variables: Sendable {
    public var values: [String: String]
    public var environment: String
    public var commit: String

    public init(values: [String: String], environment: String, commit: String) {
        self.values = values
        self.environment = environment
        self.commit = commit
    }

    /// Substitutes in every scalar of `node` (values only, never keys).
    public func substitute(in node: Node, path: FieldPath, diagnostics: inout [Diagnostic]) -> Node {
        switch node.value {
        case .scalar(let text, let style):
            guard text.utf8.contains(UInt8(ascii: "$")) else { return node }
            return Node(.scalar(expand(text, at: node.location, path: path, diagnostics: &diagnostics), style), at: node.location)
        case .mapping(let entries):
            var out = entries
            for i in out.indices {
                out[i].value = substitute(in: out[i].value, path: path.appending(out[i].key), diagnostics: &diagnostics)
            }
            return Node(.mapping(out), at: node.location)
        case .sequence(let items):
            var out = items
            for i in out.indices {
                out[i] = substitute(in: out[i], path: path.appending(i), diagnostics: &diagnostics)
            }
            return Node(.sequence(out), at: node.location)
        }
    }

    func expand(_ text: String, at location: SourceLocation, path: FieldPath, diagnostics: inout [Diagnostic]) -> String {
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("${") {
                out += "${"
                rest = after.dropFirst(2)
                continue
            }
            guard after.hasPrefix("{") else {
                out += "$"
                rest = after
                continue
            }
            guard let close = after.firstIndex(of: "}") else {
                diagnostics.append(Diagnostic(at: location, "unterminated '${' in '\(text)': close it with '}' or write '$${' for a literal", field: path.description, environment: environment))
                return text
            }
            let reference = String(after[after.index(after: after.startIndex)..<close])
            if let value = resolve(reference) {
                out += value
            } else {
                diagnostics.append(Diagnostic(at: location, undefinedMessage(reference), field: path.description, environment: environment))
            }
            rest = after[after.index(after: close)...]
        }
        out += rest
        return out
    }

    func resolve(_ reference: String) -> String? {
        if reference.hasPrefix("vars.") { return values[String(reference.dropFirst(5))] }
        switch reference {
        case "env.name": return environment
        case "git.commit": return commit
        case "git.shortCommit": return String(commit.prefix(12))
        default: return nil
        }
    }

    func undefinedMessage(_ reference: String) -> String {
        if reference.hasPrefix("vars.") {
            let name = String(reference.dropFirst(5))
            var message = "undefined variable '\(name)' in environment '\(environment)'"
            if let close = SchemaValidator.closest(to: name, in: values.keys.sorted()) {
                message += ": did you mean '\(close)'?"
            } else {
                message += ": define it under spec.variables in environments/\(environment)/environment.yaml"
            }
            return message
        }
        return "unknown reference '${\(reference)}': use ${vars.NAME}, ${env.name}, ${git.commit} or ${git.shortCommit}"
    }
}
