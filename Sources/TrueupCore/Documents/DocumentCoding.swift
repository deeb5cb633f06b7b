import Foundation

/// Parsed documents as compact bytes and back, for the parsed-spec cache (`ParsedSpecCache`):
/// a file whose blob was parsed before is rebuilt from these instead of read out of git and parsed
/// by libyaml again.
///
/// Written by hand because no listed package encodes this tree: Codable through JSON or a
/// property list would cost more than parsing the YAML again, which is the cost this exists to
/// save. The format is a pre-order walk; every number is an unsigned LEB128 varint:
///
///     file     = FORMAT count document*
///     document = index node
///     node     = tag line column body
///         tag 0 plain scalar, 1 string scalar: length utf8-bytes
///         tag 2 mapping: count (length key-bytes key-line key-column node)*
///         tag 3 sequence: count node*
///
/// Locations keep lines and columns only: the file is the path the blob is read at, given when
/// decoding, so a blob found at a second path points there.
public enum DocumentCoding {
    /// Changes whenever the format or what the parser produces changes, so that bytes written by
    /// another version of trueup are never read as this one's.
    public static let format: UInt64 = 1

    /// Deepest nesting decoded; deeper bytes are refused. The YAML loader accepts 64 levels.
    static let maxDepth = 128

    public static func encode(_ documents: [Document]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 * max(1, documents.count))
        write(format, to: &out)
        write(UInt64(documents.count), to: &out)
        for document in documents {
            write(UInt64(document.index), to: &out)
            write(document.root, to: &out)
        }
        return out
    }

    /// The documents `bytes` hold, located in `file`; nil when the bytes are not exactly one
    /// well-formed encoding of this format (then the caller parses the file instead).
    public static func decode(_ bytes: some ContiguousBytes, file: SourceFileID) -> [Document]? {
        bytes.withUnsafeBytes { raw in
            var reader = Reader(bytes: raw.bindMemory(to: UInt8.self), file: file)
            guard reader.number() == format, let count = reader.count() else { return nil }
            var documents: [Document] = []
            documents.reserveCapacity(count)
            for _ in 0..<count {
                guard let index = reader.count(), let root = reader.node(depth: 0) else { return nil }
                documents.append(Document(root: root, index: index))
            }
            return reader.atEnd ? documents : nil
        }
    }

    private static func write(_ node: Node, to out: inout [UInt8]) {
        switch node.value {
        case .scalar(let text, let style):
            out.append(style == .plain ? 0 : 1)
            write(node.location, to: &out)
            write(text, to: &out)
        case .mapping(let entries):
            out.append(2)
            write(node.location, to: &out)
            write(UInt64(entries.count), to: &out)
            for entry in entries {
                write(entry.key, to: &out)
                write(entry.keyLocation, to: &out)
                write(entry.value, to: &out)
            }
        case .sequence(let items):
            out.append(3)
            write(node.location, to: &out)
            write(UInt64(items.count), to: &out)
            for item in items { write(item, to: &out) }
        }
    }

    private static func write(_ location: SourceLocation, to out: inout [UInt8]) {
        write(UInt64(max(0, location.line)), to: &out)
        write(UInt64(max(0, location.column)), to: &out)
    }

    private static func write(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            write(UInt64(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        }
    }

    private static func write(_ number: UInt64, to out: inout [UInt8]) {
        var number = number
        while number >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: number) | 0x80)
            number >>= 7
        }
        out.append(UInt8(number))
    }

    /// Reads one encoding, checking every length against what is left.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        let file: SourceFileID
        var offset = 0

        init(bytes: UnsafeBufferPointer<UInt8>, file: SourceFileID) {
            self.bytes = bytes
            self.file = file
        }

        var atEnd: Bool { offset == bytes.count }

        mutating func number() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count, shift < 64 {
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }

        /// A count of things still to read: each takes at least one byte, so a count larger than
        /// the bytes left is refused before anything is reserved for it.
        mutating func count() -> Int? {
            guard let value = number(), value <= UInt64(bytes.count - offset) else { return nil }
            return Int(value)
        }

        mutating func location() -> SourceLocation? {
            guard let line = number(), let column = number(), line <= UInt64(Int32.max), column <= UInt64(Int32.max) else { return nil }
            return SourceLocation(file: file, line: Int(line), column: Int(column))
        }

        mutating func text() -> String? {
            guard let length = count() else { return nil }
            // Decoding checks the UTF-8 (bad bytes would become U+FFFD, and then the text
            // differs from what was written, which the cache's digest has ruled out).
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self)
            offset += length
            return text
        }

        mutating func node(depth: Int) -> Node? {
            guard depth <= DocumentCoding.maxDepth, offset < bytes.count else { return nil }
            let tag = bytes[offset]
            offset += 1
            guard let location = location() else { return nil }
            switch tag {
            case 0, 1:
                guard let text = text() else { return nil }
                return Node(.scalar(text, tag == 0 ? .plain : .string), at: location)
            case 2:
                guard let count = count() else { return nil }
                var entries: [Node.Entry] = []
                entries.reserveCapacity(count)
                for _ in 0..<count {
                    guard let key = text(), let keyLocation = self.location(), let value = node(depth: depth + 1) else { return nil }
                    entries.append(Node.Entry(key: key, keyLocation: keyLocation, value: value))
                }
                return Node(.mapping(entries), at: location)
            case 3:
                guard let count = count() else { return nil }
                var items: [Node] = []
                items.reserveCapacity(count)
                for _ in 0..<count {
                    guard let item = node(depth: depth + 1) else { return nil }
                    items.append(item)
                }
                return Node(.sequence(items), at: location)
            default:
                return nil
            }
        }
    }
}
