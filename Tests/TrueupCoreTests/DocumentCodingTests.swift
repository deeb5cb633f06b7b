import Foundation
import Testing
import TrueupCore
import TrueupYAML

/// Every node of `documents`, one line each: kind, style, text, key and where each was written.
/// Two trees with the same dump are the same to everything that reads them.
func dump(_ documents: [Document]) -> [String] {
    var lines: [String] = []
    func walk(_ node: Node, _ indent: String) {
        let at = node.location.description
        switch node.value {
        case .scalar(let text, let style):
            lines.append("\(indent)scalar \(style) \(text.debugDescription) @\(at) marks \(node.marks.rawValue)")
        case .mapping(let entries):
            lines.append("\(indent)mapping @\(at) marks \(node.marks.rawValue)")
            for entry in entries {
                lines.append("\(indent) key \(entry.key.debugDescription) @\(entry.keyLocation)")
                walk(entry.value, indent + "  ")
            }
        case .sequence(let items):
            lines.append("\(indent)sequence @\(at) marks \(node.marks.rawValue)")
            for item in items { walk(item, indent + "  ") }
        }
    }
    for document in documents {
        lines.append("document \(document.index)")
        walk(document.root, " ")
    }
    return lines
}

struct DocumentCodingTests {
    static let text = """
        # comment first, so the first document starts on line 2
        apiVersion: trueup/v1
        kind: Job
        metadata: {name: "train-churn", labels: {team: growth}}
        spec:
          command: [python3, train.py, --epochs, "${vars.epochs}", '']
          empty:
          nothing: null
          block: |
            two lines,
            ünïcödé and a tab\there
          shared: &defaults {cpus: 4, gpus: 0}
          again: *defaults
          nested:
            - [1, 2.5, true]
            - {a: {b: {c: deep}}}
        ---
        ---
        - a list at the top
        - 1.10
        """

    @Test func decodingGivesBackEveryNodeWithItsStyleTextAndLocation() throws {
        let documents = try YAMLLoader().load(Array(Self.text.utf8), file: "environments/dev/train.yaml")
        #expect(documents.count == 2)
        let bytes = DocumentCoding.encode(documents)
        let decoded = try #require(DocumentCoding.decode(bytes, file: SourceFileNames.id(of: "environments/dev/train.yaml")))
        #expect(dump(decoded) == dump(documents))
        // Marks (nulls, `$`) are found again as the tree is rebuilt.
        #expect(decoded[0].root.marks == documents[0].root.marks)
        #expect(decoded[0].root.marks.contains(.null) && decoded[0].root.marks.contains(.dollar))
    }

    @Test func decodedDocumentsPointAtThePathTheyAreDecodedFor() throws {
        let documents = try YAMLLoader().load(Array("a: 1\nb: [x]\n".utf8), file: "environments/dev/one.yaml")
        let decoded = try #require(DocumentCoding.decode(DocumentCoding.encode(documents), file: SourceFileNames.id(of: "environments/prod/copy.yaml")))
        #expect(decoded[0].root["b"]?.items?[0].location.description == "environments/prod/copy.yaml:2:5")
        #expect(decoded[0].root.entries?[1].keyLocation.description == "environments/prod/copy.yaml:2:1")
    }

    @Test func bytesThatAreNotExactlyOneEncodingAreRefused() throws {
        let documents = try YAMLLoader().load(Array(Self.text.utf8), file: "f.yaml")
        let bytes = DocumentCoding.encode(documents)
        let file = SourceFileNames.id(of: "f.yaml")
        #expect(DocumentCoding.decode([UInt8](), file: file) == nil)
        // Cut short anywhere, with a byte too many, or from another format: never a tree.
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(DocumentCoding.decode(Array(bytes[..<length]), file: file) == nil, "cut at \(length)")
        }
        #expect(DocumentCoding.decode(bytes + [0], file: file) == nil)
        var otherFormat = bytes
        otherFormat[0] = UInt8(DocumentCoding.format + 1)
        #expect(DocumentCoding.decode(otherFormat, file: file) == nil)
        // A count far larger than the bytes left is refused before anything is reserved for it.
        #expect(DocumentCoding.decode([UInt8(DocumentCoding.format), 0xff, 0xff, 0xff, 0xff, 0x0f], file: file) == nil)
        // Nesting deeper than any file the loader accepts.
        var deep: [UInt8] = [UInt8(DocumentCoding.format), 1, 0]
        for _ in 0..<10_000 { deep += [3, 1, 1, 1] }
        #expect(DocumentCoding.decode(deep, file: file) == nil)
    }
}
