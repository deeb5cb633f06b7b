import Foundation
import Testing
@testable import TrueupCore

/// JSONValue.parse (JSONDecoder through JSONValue's Codable conformance) reads back what trueup
/// stored: applied state, metrics.json. A number that is a whole Int64 reads as `.integer` however
/// it is written (JSONEncoder writes 2.0 as 2), any other as `.number`.
struct JSONValueCodingTests {
    @Test func valuesKeepTheirTypes() throws {
        let value = try JSONValue.parse(Data(#"{"a": 1, "b": 1.5, "c": -2.5e3, "c2": -2.25e1, "d": "x", "e": [true, false, null], "f": {}, "g": [], "h": 9223372036854775807, "i": 9223372036854775808}"#.utf8))
        #expect(value == .object([
            "a": .integer(1), "b": .number(1.5), "c": .integer(-2500), "c2": .number(-22.5), "d": .string("x"),
            "e": .array([.bool(true), .bool(false), .null]), "f": .object([:]), "g": .array([]),
            "h": .integer(Int64.max), "i": .number(9223372036854775808),
        ]))
    }

    @Test func whatTrueupWritesReadsBackTheSame() throws {
        let original: JSONValue = .object(["spec": .object(["command": .array([.string("sh"), .string("job \"x\" é 😀")]), "timeout": .string("1m")]),
                                           "n": .integer(-7), "ratio": .number(0.25), "tab\tkey": .null])
        #expect(try JSONValue.parse(Data(original.canonicalJSON.utf8)) == original)
        #expect(try JSONValue.parse(Data(original.prettyJSON.utf8)) == original)
        #expect(try JSONValue.parse(try JSONEncoder().encode(original)) == original)
    }

    // (JSONDecoder accepts a trailing comma, "[1,]": harmless for what trueup reads.)
    @Test(arguments: ["", "{", "{\"a\" 1}", "01", "tru", "\"abc", "[1] 2", "{'a': 1}", "NaN"])
    func notJSONIsRefused(_ text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(Data(text.utf8)) }
    }
}
