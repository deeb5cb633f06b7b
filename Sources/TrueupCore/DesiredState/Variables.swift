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
        substituteIfAny(in: node, path: path, diagnostics: &diagnostics) ?? node
    }

    /// The node with its variables substituted, or nil when no scalar of it has a `$`: such a
    /// node reads the same in every environment.
    public func substituteIfAny(in node: Node, path: FieldPath, diagnostics: inout [Diagnostic]) -> Node? {
        var components = path.components
        return substituted(node, path: &components, diagnostics: &diagnostics)
    }

    /// The node with its variables replaced, or nil when it has none: most values have none, and
    /// copying every tree for nothing was a measurable part of loading.
    /// `path` is a stack pushed and popped on the way down; it becomes a `FieldPath` only for a message.
    private func substituted(_ node: Node, path: inout [FieldPath.Component], diagnostics: inout [Diagnostic]) -> Node? {
        guard node.marks.contains(.dollar) else { return nil }
        switch node.value {
        case .scalar(let text, let style):
            return Node(.scalar(expand(text, at: node.location, path: path, diagnostics: &diagnostics), style), at: node.location)
        case .mapping(let entries):
            var out: [Node.Entry]?
            for i in entries.indices {
                path.append(.key(entries[i].key))
                defer { path.removeLast() }
                if let value = substituted(entries[i].value, path: &path, diagnostics: &diagnostics) {
                    if out == nil { out = entries }
                    out![i].value = value
                }
            }
            return out.map { Node(.mapping($0), at: node.location) }
        case .sequence(let items):
            var out: [Node]?
            for i in items.indices {
                path.append(.index(i))
                defer { path.removeLast() }
                if let value = substituted(items[i], path: &path, diagnostics: &diagnostics) {
                    if out == nil { out = items }
                    out![i] = value
                }
            }
            return out.map { Node(.sequence($0), at: node.location) }
        }
    }

    /// Over the UTF-8 bytes: `$`, `{` and `}` are ASCII, and walking by Character was most of
    /// what substituting cost. The field path becomes a `FieldPath` only for a message.
    func expand(_ text: String, at location: SourceLocation, path: [FieldPath.Component], diagnostics: inout [Diagnostic]) -> String {
        let bytes = Array(text.utf8)
        let dollar = UInt8(ascii: "$"), open = UInt8(ascii: "{"), close = UInt8(ascii: "}")
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            guard bytes[index] == dollar else {
                out.append(bytes[index])
                index += 1
                continue
            }
            let next = index + 1 < bytes.count ? bytes[index + 1] : 0
            if next == dollar, index + 2 < bytes.count, bytes[index + 2] == open {
                // `$${` is a literal `${`.
                out.append(contentsOf: [dollar, open])
                index += 3
                continue
            }
            guard next == open else {
                out.append(dollar)
                index += 1
                continue
            }
            guard let end = bytes[(index + 2)...].firstIndex(of: close) else {
                diagnostics.append(Diagnostic(at: location, "unterminated '${' in '\(text)': close it with '}' or write '$${' for a literal", field: FieldPath(path).description, environment: environment))
                return text
            }
            let reference = String(decoding: bytes[(index + 2)..<end], as: UTF8.self)
            if let value = resolve(reference) {
                out.append(contentsOf: value.utf8)
            } else {
                diagnostics.append(Diagnostic(at: location, undefinedMessage(reference), field: FieldPath(path).description, environment: environment))
            }
            index = end + 1
        }
        return String(decoding: out, as: UTF8.self)
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
