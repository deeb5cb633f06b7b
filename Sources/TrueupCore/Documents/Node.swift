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
        // Laid out in this order an entry is 64 bytes: the 32-byte node, the 12-byte location,
        // then the key at the next 8-byte boundary.
        public var value: Node
        public var keyLocation: SourceLocation
        public var key: String

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

    public var value: Value {
        didSet { marks = Marks(of: value) }
    }
    /// What the tree below holds, found as it is built (from the children's own marks, so in one
    /// step per node): overlays and variables then pass over a document with no null and no `$`
    /// at once, instead of walking all of it for every resource of every environment.
    /// Declared before `location`, so that it sits in the byte after the value's 17 rather than
    /// after the location's 12: a node is then 32 bytes, not 40 (a list item, a document root).
    public private(set) var marks: Marks
    public var location: SourceLocation

    /// Kinds of value somewhere in a tree. Keys do not count: only values are removed or substituted.
    public struct Marks: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// A null value (see `isNull`).
        public static let null = Marks(rawValue: 1)
        /// A scalar with a `$`, which may be a variable.
        public static let dollar = Marks(rawValue: 2)

        init(of value: Value) {
            var marks: Marks = []
            switch value {
            case .scalar(let text, let style):
                if style == .plain, Node.isNullText(text) { marks.insert(.null) }
                if Self.containsDollar(text) { marks.insert(.dollar) }
            case .mapping(let entries):
                for index in entries.indices { marks.formUnion(entries[index].value.marks) }
            case .sequence(let items):
                for index in items.indices { marks.formUnion(items[index].marks) }
            }
            self = marks
        }

        /// Asked of every scalar as it is parsed: scanning the text's bytes in place is several
        /// times faster than iterating its UTF-8 view one code unit at a time.
        static func containsDollar(_ text: String) -> Bool {
            var text = text
            return text.withUTF8 { bytes in bytes.contains(UInt8(ascii: "$")) }
        }
    }

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
        self.marks = Marks(of: value)
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
        return Self.isNullText(text)
    }

    /// Whether a plain scalar's text is null.
    static func isNullText(_ text: String) -> Bool {
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
