/// A YAML node as written, with where it was written.
///
/// Scalars keep their text and style rather than a guessed type: typing is directed by the schema
/// (a plain `1.10` is the string "1.10" where the schema asks for a string, the number 1.1 where it
/// asks for a number), so guessing here would lose information the validator needs.
public struct Node: Sendable {
    public enum Style: UInt8, Sendable {
        /// Unquoted: its type comes from the schema.
        case plain
        /// Quoted, block or explicitly tagged `!!str`: always a string.
        case string
    }

    public struct Entry: Sendable {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: Node

        public init(key: String, keyLocation: SourceLocation, value: Node) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    public enum Value: Sendable {
        case scalar(String, Style)
        /// Entries keep their order from the file; keys are unique (the loader rejects duplicates).
        case mapping([Entry])
        case sequence([Node])
    }

    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    public static func scalar(_ text: String, style: Style = .string, at location: SourceLocation) -> Node {
        Node(.scalar(text, style), at: location)
    }

    /// The value under `key` of a mapping, or nil.
    public subscript(key: String) -> Node? {
        guard case .mapping(let entries) = value else { return nil }
        return entries.first(where: { $0.key == key })?.value
    }

    public var entries: [Entry]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    public var items: [Node]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    public var scalarText: String? {
        if case .scalar(let text, _) = value { return text }
        return nil
    }

    /// A plain `null` or `~` (or an empty plain scalar): YAML's way of saying "no value".
    public var isNull: Bool {
        guard case .scalar(let text, .plain) = value else { return false }
        // Asked of every scalar by overlays and typing: only lengths 0, 1 and 4 can be null.
        switch text.utf8.count {
        case 0: return true
        case 1: return text == "~"
        case 4: return text == "null" || text == "Null" || text == "NULL"
        default: return false
        }
    }

    /// What kind of node this is, in the words of JSON Schema, for messages.
    public var kindName: String {
        switch value {
        case .scalar: return isNull ? "null" : "scalar"
        case .mapping: return "mapping"
        case .sequence: return "list"
        }
    }
}

/// One YAML document of a file.
public struct Document: Sendable {
    public var root: Node
    /// 0-based index of the document within its file.
    public var index: Int

    public init(root: Node, index: Int) {
        self.root = root
        self.index = index
    }
}
