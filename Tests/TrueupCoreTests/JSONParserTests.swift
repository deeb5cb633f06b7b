import Foundation
import Testing
@testable import TrueupCore

/// JSONValue.parse reads back what trueup stored (applied state, metrics.json): it must read
/// every JSON text exactly, and refuse what is not JSON.
struct JSONParserTests {
    @Test func valuesKeepTheirTypes() throws {
        let value = try JSONValue.parse(Data(#"{"a": 1, "b": 1.5, "c": -2e3, "d": "x", "e": [true, false, null], "f": {}, "g": [], "h": 9223372036854775807, "i": 9223372036854775808}"#.utf8))
        #expect(value == .object([
            "a": .integer(1), "b": .number(1.5), "c": .number(-2000), "d": .string("x"),
            "e": .array([.bool(true), .bool(false), .null]), "f": .object([:]), "g": .array([]),
            "h": .integer(Int64.max), "i": .number(9223372036854775808),
        ]))
    }

    @Test func escapesAndUnicodeAreDecoded() throws {
        let value = try JSONValue.parse(Data(#"["a\"b\\c\/d\n\t\r\b\f", "\u00e9\u4e2d\ud83d\ude00", "plain é 中 😀"]"#.utf8))
        #expect(value == .array([.string("a\"b\\c/d\n\t\r\u{08}\u{0C}"), .string("é中😀"), .string("plain é 中 😀")]))
    }

    @Test func whatTrueupWritesReadsBackTheSame() throws {
        let original: JSONValue = .object(["spec": .object(["command": .array([.string("sh"), .string("job \"x\"")]), "timeout": .string("1m")]),
                                           "n": .integer(-7), "ratio": .number(0.25), "tab\tkey": .null])
        #expect(try JSONValue.parse(Data(original.canonicalJSON.utf8)) == original)
        #expect(try JSONValue.parse(Data(original.prettyJSON.utf8)) == original)
        let encoded = try JSONEncoder().encode(original)
        #expect(try JSONValue.parse(encoded) == original)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "-", "1e", "tru", "nul", "\"abc", "\"a\u{01}b\"",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "[1] 2", "{'a': 1}", "NaN", "[\"\\u12\"]",
    ])
    func notJSONIsRefused(_ text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(Data(text.utf8)) }
    }

    @Test func nestedObjectsKeepTheirOwnMembersAndARepeatedNameItsLastValue() throws {
        let value = try JSONValue.parse(Data(#"{"a": {"x": 1, "y": {"z": 2}, "w": [{"v": true}]}, "b": 3, "e": {}, "b": 4}"#.utf8))
        #expect(value == .object([
            "a": .object(["x": .integer(1), "y": .object(["z": .integer(2)]), "w": .array([.object(["v": .bool(true)])])]),
            "b": .integer(4), "e": .object([:]),
        ]))
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: (any Error).self) { try JSONValue.parse(Data([0x22, 0xFF, 0xFE, 0x22])) }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: (any Error).self) { try JSONValue.parse(Data(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONValue.parse(Data(fine.utf8))) != nil)
    }
}
