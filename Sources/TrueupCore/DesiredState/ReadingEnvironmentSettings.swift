extension BuildRun {
    /// An environment's settings from its `environment.yaml`: the schema, the name matching the
    /// folder, then the settings' own defaults and rules (`EnvironmentSettings.decode`). Nil,
    /// with the problems reported, when they are invalid.
    mutating func environmentSettings(folder: DesiredStateBuilder.Folder, node: Node, all: Set<String>) -> EnvironmentSettings? {
        let name = folder.name
        let cleaned = Overlay.removingNulls(node)
        let (value, problems) = SchemaValidator.validate(cleaned, against: builder.schemas[.environment]!)
        diagnostics += problems
        guard let value else { return nil }
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
        // Variables as their text, from the nodes: a number keeps the digits it was written with.
        var variables: [String: String] = [:]
        for entry in cleaned["spec"]?["variables"]?.entries ?? [] { variables[entry.key] = entry.value.scalarText ?? "" }
        let settings = EnvironmentSettings.decode(name: name, spec: value["spec"] ?? .object([:]), variables: variables,
                                                  environments: all, specRoot: root, fail: fail)
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
}
