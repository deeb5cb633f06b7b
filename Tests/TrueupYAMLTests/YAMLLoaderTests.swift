import Foundation
import Testing
import TrueupCore
import TrueupYAML

/// Loads `text` as the file `f.yaml`.
private func load(_ text: String, limits: YAMLLimits = YAMLLimits()) throws(Diagnostic) -> [Document] {
    try YAMLLoader(limits: limits).load(Array(text.utf8), file: "f.yaml")
}

private func load(bytes: [UInt8]) throws(Diagnostic) -> [Document] {
    try YAMLLoader().load(bytes, file: "f.yaml")
}

/// The error `text` fails with, or nil when it loads.
private func failure(_ text: String, limits: YAMLLimits = YAMLLimits()) -> Diagnostic? {
    do {
        _ = try load(text, limits: limits)
        return nil
    } catch {
        return error
    }
}

private func failure(bytes: [UInt8]) -> Diagnostic? {
    do {
        _ = try load(bytes: bytes)
        return nil
    } catch {
        return error
    }
}

func at(_ line: Int, _ column: Int) -> TrueupCore.SourceLocation {
    TrueupCore.SourceLocation(file: "f.yaml", line: line, column: column)
}

struct SourceMarkTests {
    @Test func keysAndValuesKnowTheirLineAndColumn() throws {
        let text = """
            apiVersion: trueup/v1
            spec:
              command: [python3, train.py]
              env:
                SEED: "7"
              gates:
                - job: evaluate
                  metrics: {auc: ">= 0.8"}
            """
        let root = try #require(try load(text).first).root
        let entries = try #require(root.entries)
        #expect(entries.map(\.key) == ["apiVersion", "spec"])
        #expect(entries[0].keyLocation == at(1, 1))
        #expect(entries[0].value.location == at(1, 13))
        let spec = try #require(root["spec"])
        #expect(spec.location == at(3, 3))
        let command = try #require(spec["command"]?.items)
        #expect(command.map(\.location) == [at(3, 13), at(3, 22)])
        #expect(spec["env"]?["SEED"]?.location == at(5, 11))
        let gate = try #require(spec["gates"]?.items?.first)
        #expect(gate.location == at(7, 7))
        #expect(gate["metrics"]?["auc"]?.location == at(8, 22))
        #expect(gate.entries?.last?.keyLocation == at(8, 7))
    }

    @Test func columnsCountCharactersNotBytes() throws {
        // "é" is two bytes; editors (and libyaml) count it as one column.
        let root = try #require(try load("a: {x: \"éé\", y: z}").first).root
        #expect(root["a"]?["y"]?.location == at(1, 17))
    }

    @Test func aliasTakesTheLocationOfItsUse() throws {
        let root = try #require(try load("a: &x [1, 2]\nb: *x\n").first).root
        #expect(root["b"]?.location == at(2, 4))
        #expect(root["b"]?.items?.compactMap(\.scalarText) == ["1", "2"])
    }
}

struct DocumentTests {
    @Test func everyDocumentOfAFileIsLoadedWithItsOwnLines() throws {
        let text = """
            kind: Job
            ---
            kind: Model
            ---
            kind: Dataset
            """
        let documents = try load(text)
        #expect(documents.map { $0.root["kind"]?.scalarText } == ["Job", "Model", "Dataset"])
        #expect(documents.map(\.root.location.line) == [1, 3, 5])
        #expect(documents.map(\.index) == [0, 1, 2])
    }

    @Test(arguments: [
        "",
        "# only a comment\n",
        "---\n",
        "---\n# comment\n---\n...\n",
        "~\n",
        "null\n",
    ])
    func emptyDocumentsAreSkipped(_ text: String) throws {
        #expect(try load(text).isEmpty)
    }

    @Test func emptyDocumentsBetweenOthersAreSkipped() throws {
        let documents = try load("---\n# nothing\n---\nkind: Job\n---\n---\nkind: Model\n...\n")
        #expect(documents.map { $0.root["kind"]?.scalarText } == ["Job", "Model"])
        #expect(documents[0].root.location == at(4, 1))
    }
}

struct DuplicateKeyTests {
    @Test(arguments: [
        ("a: 1\nb: 2\na: 3\n", at(3, 1), "duplicate key 'a' (first at line 1, column 1)"),
        ("spec:\n  code: x\n  command: [a]\n  code: y\n", at(4, 3), "duplicate key 'code' (first at line 2, column 3)"),
        ("env: {SEED: \"1\", SEED: \"2\"}\n", at(1, 18), "duplicate key 'SEED' (first at line 1, column 7)"),
        ("- a: 1\n  a: 1\n", at(2, 3), "duplicate key 'a' (first at line 1, column 3)"),
    ])
    func duplicateKeysAreRefusedWhereTheRepeatIs(_ text: String, _ location: TrueupCore.SourceLocation, _ message: String) {
        let error = failure(text)
        #expect(error?.location == location)
        #expect(error?.message.hasPrefix(message) == true)
    }

    /// Large mappings are checked through a set rather than a scan: a repeat early or late is found.
    @Test(arguments: [(3, 30), (25, 40), (39, 40)])
    func duplicateKeysInLargeMappingsAreRefused(_ repeated: Int, _ size: Int) {
        var text = (0..<size).map { "k\($0): v\n" }.joined()
        text += "k\(repeated): again\n"
        let error = failure(text)
        #expect(error?.location == at(size + 1, 1))
        #expect(error?.message.hasPrefix("duplicate key 'k\(repeated)' (first at line \(repeated + 1), column 1)") == true)
    }

    @Test func sameKeyInDifferentMappingsIsFine() throws {
        let documents = try load("a: {x: 1}\nb: {x: 2}\n")
        #expect(documents.count == 1)
    }
}

struct HostileInputTests {
    static let billionLaughs = """
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
        """

    @Test func aliasBombIsStoppedQuicklyWithAClearError() {
        let clock = ContinuousClock()
        var error: Diagnostic?
        // Expanded, this document has about a billion nodes: without the limit it never finishes.
        let elapsed = clock.measure { error = failure(Self.billionLaughs) }
        #expect(error?.message.contains("alias bomb") == true)
        #expect(error?.message.contains("10000 nodes") == true)
        #expect(error?.location.map(\.line) == 5)
        #expect(elapsed < .seconds(5))
    }

    @Test func aliasesUnderTheLimitExpand() throws {
        var limits = YAMLLimits()
        limits.maxAliasExpandedNodes = 30
        let root = try #require(try load("a: &a [1, 2, 3]\nb: [*a, *a]\n", limits: limits).first).root
        #expect(root["b"]?.items?.map { $0.items?.count } == [3, 3])
        limits.maxAliasExpandedNodes = 7
        #expect(failure("a: &a [1, 2, 3]\nb: [*a, *a]\n", limits: limits)?.location == at(2, 9))
    }

    @Test func aliasToAnUnknownAnchorIsRefused() {
        let error = failure("a: *nowhere\n")
        #expect(error?.location == at(1, 4))
        #expect(error?.message == "alias *nowhere refers to no anchor defined before it: define &nowhere first")
    }

    @Test func anchorsDoNotCrossDocuments() {
        let error = failure("a: &x 1\n---\nb: *x\n")
        #expect(error?.location == at(3, 4))
        #expect(error?.message.contains("anchors do not cross '---'") == true)
    }

    static func nested(_ depth: Int) -> String {
        "a: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        // The top-level mapping is one level: 63 sequences inside it make 64.
        #expect(try load(Self.nested(63)).count == 1)
    }

    @Test func nestingBeyondTheLimitIsRefusedAtTheOpeningBracket() {
        let error = failure(Self.nested(64))
        #expect(error?.location == at(1, 67))
        #expect(error?.message == "nesting deeper than 64 levels: flatten this structure")
    }

    @Test func deepBlockNestingIsRefusedWithoutCrashing() {
        var text = ""
        for depth in 0..<200 { text += String(repeating: " ", count: depth) + "k:\n" }
        let error = failure(text)
        #expect(error?.location == at(65, 65))
    }

    @Test func nestingLimitIsConfigurable() {
        var limits = YAMLLimits()
        limits.maxDepth = 3
        #expect(failure("a: {b: {c: 1}}\n", limits: limits) == nil)
        #expect(failure("a: {b: {c: [1]}}\n", limits: limits)?.location == at(1, 12))
    }

    @Test func filesOverTheSizeLimitAreRefusedBeforeParsing() {
        var limits = YAMLLimits()
        limits.maxFileBytes = 10
        #expect(failure("a: 1234567", limits: limits) == nil)
        let error = failure("a: 12345678", limits: limits)
        #expect(error?.location == at(1, 1))
        #expect(error?.message == "file is 11 bytes, over the limit of 10 bytes: split it into several files")
    }

    @Test func defaultSizeLimitIsFourMebibytes() {
        let comment = Array("# x\n".utf8)
        var bytes: [UInt8] = []
        while bytes.count <= 4 * 1024 * 1024 { bytes += comment }
        #expect(failure(bytes: bytes)?.message.hasPrefix("file is \(bytes.count) bytes, over the limit of 4194304 bytes") == true)
        #expect(failure(bytes: Array(bytes.prefix(4 * 1024 * 1024))) == nil)
    }
}

struct EncodingTests {
    static let latin1: [UInt8] = Array("a: 1\nb: 2\nc: caf".utf8) + [0xE9] + Array("\n".utf8)
    static let afterMultiByte: [UInt8] = Array("name: \"ü\" ".utf8) + [0xFF]
    static let utf16: [UInt8] = [0xFF, 0xFE] + Array("a: 1\n".utf8)
    static let overlong: [UInt8] = Array("a: ".utf8) + [0xC0, 0xAF]
    static let truncated: [UInt8] = Array("a: b\n".utf8) + [0xE2, 0x82]
    static let cases: [([UInt8], TrueupCore.SourceLocation, String)] = [
        // A Latin-1 "é" (0xE9) on line 3.
        (latin1, at(3, 7), "(byte 0xE9)"),
        // After a valid multi-byte character, the column still counts characters.
        (afterMultiByte, at(1, 11), "invalid leading UTF-8 octet (byte 0xFF)"),
        // A UTF-16 byte-order mark.
        (utf16, at(1, 1), "byte 0xFF"),
        // An overlong encoding of '/'.
        (overlong, at(1, 4), "byte 0xC0"),
        // A sequence cut short at the end of the file.
        (truncated, at(2, 1), "UTF-8"),
    ]

    @Test(arguments: cases)
    func invalidUTF8IsReportedWhereItIs(_ bytes: [UInt8], _ location: TrueupCore.SourceLocation, _ detail: String) {
        let error = failure(bytes: bytes)
        #expect(error?.location == location)
        #expect(error?.message.hasPrefix("the file is not valid UTF-8") == true)
        #expect(error?.message.contains(detail) == true)
        #expect(error?.message.hasSuffix("save it as UTF-8") == true)
    }

    @Test func controlCharactersAreReportedWhereTheyAre() {
        let error = failure(bytes: Array("a: 1\nb: x".utf8) + [0x01] + Array("\n".utf8))
        #expect(error?.location == at(2, 5))
        #expect(error?.message == "invalid YAML: control characters are not allowed (byte 0x01): remove this character")
    }

    @Test func validUTF8TextIsKept() throws {
        let root = try #require(try load("owner: Zoë Ångström 🚀\n").first).root
        #expect(root["owner"]?.scalarText == "Zoë Ångström 🚀")
    }
}

struct SyntaxErrorTests {
    @Test(arguments: [
        ("a: [1, 2\nb: 3\n", at(2, 2), "did not find expected ',' or ']'"),
        ("spec:\n  code: x\n\tcommand: y\n", at(3, 1), "found a tab character that violates indentation"),
        ("a: \"unterminated\n", at(2, 1), "found unexpected end of stream"),
        ("a: b: c\n", at(1, 5), "mapping values are not allowed in this context"),
    ])
    func syntaxErrorsSayWhatAndWhere(_ text: String, _ location: TrueupCore.SourceLocation, _ problem: String) {
        let error = failure(text)
        #expect(error?.location == location)
        #expect(error?.message.hasPrefix("invalid YAML: \(problem)") == true)
    }

    @Test func mappingKeysMustBeScalars() {
        let error = failure("? [a, b]\n: 1\n")
        #expect(error?.location == at(1, 3))
        #expect(error?.message == "a mapping key must be a plain string, not a list: use a string key")
    }
}

struct TagTests {
    @Test(arguments: [
        ("a: !!python/object:os.system {}\n", "tag:yaml.org,2002:python/object:os.system"),
        ("a: !custom value\n", "!custom"),
        ("a: !!binary aGVsbG8=\n", "tag:yaml.org,2002:binary"),
        ("a: !!set {x: null}\n", "tag:yaml.org,2002:set"),
        ("a: !!timestamp 2024-01-01\n", "tag:yaml.org,2002:timestamp"),
    ])
    func unsupportedTagsAreRefused(_ text: String, _ tag: String) {
        let error = failure(text)
        #expect(error?.location == at(1, 4))
        #expect(error?.message.hasPrefix("unsupported YAML tag '\(tag)': remove the tag") == true)
    }

    @Test func coreTagsAreAccepted() throws {
        let root = try #require(try load("a: !!str 123\nb: !!int 5\nc: ! 7\nd: !!map {x: 1}\ne: !!seq [1]\n").first).root
        #expect(root["a"].map(style) == .string)
        #expect(root["b"].map(style) == .plain)
        #expect(root["c"].map(style) == .string)
        #expect(root["d"]?["x"]?.scalarText == "1")
        #expect(root["e"]?.items?.count == 1)
    }
}

private func style(_ node: Node) -> Node.Style? {
    if case .scalar(_, let style) = node.value { return style }
    return nil
}

struct ScalarStyleTests {
    @Test(arguments: [
        ("a: 1.10", "1.10", Node.Style.plain),
        ("a: \"1.10\"", "1.10", .string),
        ("a: '1.10'", "1.10", .string),
        ("a: yes", "yes", .plain),
        ("a: 'it''s'", "it's", .string),
        ("a: \"tab\\there\"", "tab\there", .string),
        ("a: |\n  line one\n  line two\n", "line one\nline two\n", .string),
        ("a: >-\n  folded\n  text\n", "folded text", .string),
        ("a: plain words here", "plain words here", .plain),
    ])
    func quotedAndBlockScalarsAreStringsPlainOnesAreTypedLater(_ text: String, _ value: String, _ expected: Node.Style) throws {
        let node = try #require(try load(text).first?.root["a"])
        #expect(node.scalarText == value)
        #expect(style(node) == expected)
    }

    @Test(arguments: [("a:", true), ("a: ~", true), ("a: null", true), ("a: NULL", true), ("a: \"null\"", false), ("a: ''", false), ("a: nil", false)])
    func nullIsOnlyAnUnquotedNull(_ text: String, _ isNull: Bool) throws {
        let node = try #require(try load(text).first?.root["a"])
        #expect(node.isNull == isNull)
    }

    @Test func mappingKeepsTheOrderOfTheFile() throws {
        let root = try #require(try load("z: 1\na: 2\nm: 3\n").first).root
        #expect(root.entries?.map(\.key) == ["z", "a", "m"])
    }
}
