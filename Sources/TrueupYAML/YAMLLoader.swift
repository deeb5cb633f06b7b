// TrueupYAML owns the libyaml boundary: bytes in, `Document`s with source marks out.
// It never interprets values (typing is the schema's job) and never reads files itself.
import CLibYAML
import TrueupCore

/// Limits that keep hostile input from hanging or exhausting the process.
public struct YAMLLimits: Sendable {
    /// Largest file accepted, in bytes.
    public var maxFileBytes = 4 * 1024 * 1024
    /// Deepest nesting of mappings and sequences.
    public var maxDepth = 64
    /// Nodes that aliases may add to one file by expansion (a billion-laughs document adds billions).
    public var maxAliasExpandedNodes = 10_000

    public init() {}
}

/// Parses YAML bytes into documents whose every node knows its line and column.
public struct YAMLLoader: Sendable {
    public var limits: YAMLLimits

    public init(limits: YAMLLimits = YAMLLimits()) {
        self.limits = limits
    }

    /// All documents of a file. Empty documents (only comments, or `---` alone) are skipped.
    /// Throws a `Diagnostic` located at the offending byte.
    public func load(_ bytes: [UInt8], file: String) throws(Diagnostic) -> [Document] {
        guard bytes.count <= limits.maxFileBytes else {
            throw Diagnostic(
                at: SourceLocation(file: file, line: 1, column: 1),
                "file is \(bytes.count) bytes, over the limit of \(limits.maxFileBytes) bytes: split it into several files")
        }
        // An empty file holds no document (libyaml also wants an address for no bytes).
        if bytes.isEmpty { return [] }
        // libyaml reads the array's own storage, which outlives the parser: both end in here.
        // (A copy of each file's bytes for libyaml to own was a megabyte of fresh pages a run.)
        let parsed: Result<[Document], Diagnostic> = bytes.withUnsafeBufferPointer { buffer in
            let parser = LibYAMLParser(buffer)
            var builder = TreeBuilder(file: file, limits: limits)
            do throws(Diagnostic) {
                while true {
                    let event = try parser.next(file: file)
                    defer { yaml_event_delete(event) }
                    if try builder.consume(event.pointee) { break }
                }
            } catch {
                return .failure(error)
            }
            return .success(builder.documents)
        }
        return try parsed.get()
    }
}

/// Owns one `yaml_parser_t`, reading bytes its creator keeps alive for the parser's whole life.
private final class LibYAMLParser {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeBufferPointer<UInt8>
    private let count: Int
    /// The one event being read: filled by each `next`, emptied by `yaml_event_delete`.
    private let event: UnsafeMutablePointer<yaml_event_t>

    /// `bytes` must not be empty (libyaml wants an address) and must outlive the parser.
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        parser = .allocate(capacity: 1)
        event = .allocate(capacity: 1)
        count = bytes.count
        input = bytes
        // yaml_parser_initialize only fails when malloc fails, which Swift treats as fatal anyway.
        let initialized = yaml_parser_initialize(parser)
        precondition(initialized == 1, "yaml_parser_initialize failed: out of memory")
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
        // Specs are UTF-8 (a BOM-less UTF-16 guess would turn bad bytes into silent garbage).
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        event.deallocate()
    }

    /// The next event; the caller deletes it (`yaml_event_delete`) before asking for another.
    func next(file: String) throws(Diagnostic) -> UnsafeMutablePointer<yaml_event_t> {
        guard yaml_parser_parse(parser, event) == 1 else {
            throw parseError(file: file)
        }
        return event
    }

    private func parseError(file: String) -> Diagnostic {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "unknown error"
        if p.error == YAML_READER_ERROR {
            return readerError(problem, offset: p.problem_offset, file: file)
        }
        let mark = p.problem_mark
        var message = "invalid YAML: \(problem)"
        if let context = p.context.map({ String(cString: $0) }) {
            message += " \(context) (started at line \(p.context_mark.line + 1), column \(p.context_mark.column + 1))"
        }
        if problem.contains("UTF-8") {
            message += ": the file must be UTF-8 encoded"
        } else {
            message += ": fix the syntax at this position"
        }
        return Diagnostic(
            at: SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1), message)
    }

    /// libyaml reports bad encoding and forbidden characters with a byte offset and no mark, so
    /// the line and column are computed here, at the first byte of the offending character.
    private func readerError(_ problem: String, offset reported: Int, file: String) -> Diagnostic {
        let bytes = UnsafeBufferPointer(start: input.baseAddress, count: count)
        let isEncoding = problem.contains("UTF-8") || problem.contains("Unicode")
        let offset = min(isEncoding ? Self.firstInvalidUTF8(in: bytes) ?? reported : reported, count)
        var line = 1
        var column = 1
        var index = 0
        while index < offset {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") || (byte == UInt8(ascii: "\r") && (index + 1 == count || bytes[index + 1] != UInt8(ascii: "\n"))) {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1  // libyaml counts columns in characters, not bytes
            }
            index += 1
        }
        let at = SourceLocation(file: file, line: line, column: column)
        let hex = offset < count ? String(bytes[offset], radix: 16, uppercase: true) : ""
        let byte = hex.isEmpty ? "" : " (byte 0x\(hex.count == 1 ? "0" : "")\(hex))"
        if isEncoding {
            return Diagnostic(at: at, "the file is not valid UTF-8: \(problem)\(byte): save it as UTF-8")
        }
        return Diagnostic(at: at, "invalid YAML: \(problem)\(byte): remove this character")
    }

    /// The offset of the first byte that does not start a valid UTF-8 sequence, if any.
    private static func firstInvalidUTF8(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var decoder = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}

/// Turns the event stream into trees, enforcing depth, alias and duplicate-key rules.
private struct TreeBuilder {
    /// An open mapping or sequence. Frames are changed in place on the stack (a popped and
    /// re-pushed enum moved all of its fields for every node added), and a closed frame stays on
    /// the stack as scratch for the next collection at its depth: children are gathered in its
    /// grown buffers and the finished node gets an array of exactly their number, one allocation
    /// instead of a doubling series whose last buffer is up to twice too large (a large repository
    /// keeps every parsed document while it builds its environments).
    private struct Frame {
        var isMapping: Bool
        var entries: [Node.Entry] = []
        var items: [Node] = []
        var pendingKey: (String, SourceLocation)?
        /// The keys of a large mapping, for finding duplicates; small ones are scanned.
        var keys = Set<String>()
        var location: SourceLocation
        var anchor: String?
        var nodeCount = 1

        init(isMapping: Bool, location: SourceLocation, anchor: String?) {
            self.isMapping = isMapping
            self.location = location
            self.anchor = anchor
        }

        /// Opens the frame again for another collection, keeping the buffers' capacity.
        mutating func reopen(isMapping: Bool, location: SourceLocation, anchor: String?) {
            self.isMapping = isMapping
            self.location = location
            self.anchor = anchor
            entries.removeAll(keepingCapacity: true)
            items.removeAll(keepingCapacity: true)
            pendingKey = nil
            if !keys.isEmpty { keys.removeAll() }
            nodeCount = 1
        }

        /// The finished collection, its children in an array of exactly their number.
        func node() -> Node {
            isMapping ? Node(.mapping(Self.exact(entries)), at: location) : Node(.sequence(Self.exact(items)), at: location)
        }

        private static func exact<Element>(_ elements: [Element]) -> [Element] {
            guard !elements.isEmpty else { return [] }
            return [Element](unsafeUninitializedCapacity: elements.count) { buffer, count in
                _ = buffer.initialize(fromContentsOf: elements)
                count = elements.count
            }
        }
    }

    let file: SourceFileID
    let limits: YAMLLimits
    private(set) var documents: [Document] = []
    /// Frames below `depth` are open; those above are scratch (see `Frame`).
    private var stack: [Frame] = []
    private var depth = 0
    private var anchors: [String: (node: Node, nodeCount: Int)] = [:]
    /// Anchors of the file's earlier documents, to explain why an alias to one fails.
    private var earlierAnchors = Set<String>()
    private var aliasExpandedNodes = 0
    private var documentIndex = 0
    private var root: Node?

    init(file: String, limits: YAMLLimits) {
        self.file = SourceFileNames.id(of: file)
        self.limits = limits
    }

    private func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    /// Returns true at the end of the stream.
    mutating func consume(_ event: yaml_event_t) throws(Diagnostic) -> Bool {
        let at = location(event.start_mark)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            root = nil
            earlierAnchors.formUnion(anchors.keys)
            anchors.removeAll(keepingCapacity: true)
        case YAML_DOCUMENT_END_EVENT:
            if let root, !root.isNull {
                documents.append(Document(root: root, index: documentIndex))
            }
            documentIndex += 1
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let style = try scalarStyle(tag: scalar.tag, style: scalar.style, at: at)
            let node = Node(.scalar(text, style), at: at)
            try add(node, nodeCount: 1, anchor: scalar.anchor)
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            guard let target = anchors[name] else {
                if earlierAnchors.contains(name) {
                    throw Diagnostic(at: at, "alias *\(name) refers to an anchor of an earlier document, and anchors do not cross '---': define &\(name) in this document")
                }
                throw Diagnostic(at: at, "alias *\(name) refers to no anchor defined before it: define &\(name) first")
            }
            aliasExpandedNodes += target.nodeCount
            guard aliasExpandedNodes <= limits.maxAliasExpandedNodes else {
                throw Diagnostic(
                    at: at,
                    "aliases expand to more than \(limits.maxAliasExpandedNodes) nodes in this file (a YAML alias bomb?): use fewer or smaller aliases")
            }
            var node = target.node
            node.location = at
            try add(node, nodeCount: target.nodeCount, anchor: nil)
        case YAML_SEQUENCE_START_EVENT:
            try checkDepth(at: at)
            try checkCollectionTag(event.data.sequence_start.tag, at: at)
            push(isMapping: false, location: at, anchor: anchorName(event.data.sequence_start.anchor))
        case YAML_MAPPING_START_EVENT:
            try checkDepth(at: at)
            try checkCollectionTag(event.data.mapping_start.tag, at: at)
            push(isMapping: true, location: at, anchor: anchorName(event.data.mapping_start.anchor))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            depth -= 1
            let node = stack[depth].node()
            try add(node, nodeCount: stack[depth].nodeCount, anchorName: stack[depth].anchor)
        default:
            break
        }
        return false
    }

    private mutating func push(isMapping: Bool, location: SourceLocation, anchor: String?) {
        if depth < stack.count {
            stack[depth].reopen(isMapping: isMapping, location: location, anchor: anchor)
        } else {
            stack.append(Frame(isMapping: isMapping, location: location, anchor: anchor))
        }
        depth += 1
    }

    private func anchorName(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private func checkDepth(at: SourceLocation) throws(Diagnostic) {
        guard depth < limits.maxDepth else {
            throw Diagnostic(at: at, "nesting deeper than \(limits.maxDepth) levels: flatten this structure")
        }
    }

    private func checkCollectionTag(_ tag: UnsafeMutablePointer<yaml_char_t>?, at: SourceLocation) throws(Diagnostic) {
        guard let tag else { return }
        let name = String(cString: tag)
        guard name == "tag:yaml.org,2002:map" || name == "tag:yaml.org,2002:seq" else {
            throw Diagnostic(at: at, "unsupported YAML tag '\(name)': remove the tag")
        }
    }

    private func scalarStyle(tag: UnsafeMutablePointer<yaml_char_t>?, style: yaml_scalar_style_t, at: SourceLocation) throws(Diagnostic) -> Node.Style {
        if let tag {
            let name = String(cString: tag)
            switch name {
            case "tag:yaml.org,2002:str", "!": return .string
            case "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null":
                return .plain
            default:
                throw Diagnostic(at: at, "unsupported YAML tag '\(name)': remove the tag (values are typed by the schema)")
            }
        }
        return style == YAML_PLAIN_SCALAR_STYLE ? .plain : .string
    }

    private mutating func add(_ node: Node, nodeCount: Int, anchor: UnsafeMutablePointer<yaml_char_t>?) throws(Diagnostic) {
        try add(node, nodeCount: nodeCount, anchorName: anchorName(anchor))
    }

    private mutating func add(_ node: Node, nodeCount: Int, anchorName: String?) throws(Diagnostic) {
        if let anchorName { anchors[anchorName] = (node, nodeCount) }
        guard depth > 0 else {
            root = node
            return
        }
        let top = depth - 1
        if !stack[top].isMapping {
            stack[top].items.append(node)
            stack[top].nodeCount += nodeCount
        } else if let (key, keyLocation) = stack[top].pendingKey {
            stack[top].entries.append(Node.Entry(key: key, keyLocation: keyLocation, value: node))
            stack[top].pendingKey = nil
            stack[top].nodeCount += nodeCount
        } else {
            guard case .scalar(let key, _) = node.value else {
                throw Diagnostic(at: node.location, "a mapping key must be a plain string, not a \(node.kindName): use a string key")
            }
            // Most mappings have a handful of keys: scanning them beats hashing each into a set,
            // which is built only once a mapping grows large.
            let isDuplicate: Bool
            if stack[top].entries.count < 16 {
                isDuplicate = stack[top].entries.contains { $0.key == key }
            } else {
                if stack[top].keys.isEmpty { stack[top].keys = Set(stack[top].entries.map(\.key)) }
                isDuplicate = !stack[top].keys.insert(key).inserted
            }
            guard !isDuplicate else {
                let first = stack[top].entries.first(where: { $0.key == key })?.keyLocation
                let firstText = first.map { " (first at line \($0.line), column \($0.column))" } ?? ""
                throw Diagnostic(at: node.location, "duplicate key '\(key)'\(firstText): keep only one")
            }
            stack[top].pendingKey = (key, node.location)
        }
    }
}
