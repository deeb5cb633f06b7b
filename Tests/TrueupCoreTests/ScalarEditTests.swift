import Testing
import TrueupCore

/// `trueup promote` rewrites one scalar and must leave every other byte as the author wrote it.
struct ScalarEditTests {
    private func edited(_ text: String, line: Int, column: Int, to value: String) throws -> String {
        String(decoding: try ScalarEdit.replacing(in: Array(text.utf8), line: line, column: column, with: value), as: UTF8.self)
    }

    private func refusal(_ text: String, line: Int, column: Int) -> String? {
        do {
            _ = try ScalarEdit.scalar(in: Array(text.utf8), line: line, column: column)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("each quoting style is kept, and comments, other lines and line endings are untouched")
    func keepsStyle() throws {
        let text = "# head\nspec:\n  a: \"3\"   # pinned\n  b: '3'\n  c: 3 # plain\n  d: x\n"
        #expect(try edited(text, line: 3, column: 6, to: "12") == "# head\nspec:\n  a: \"12\"   # pinned\n  b: '3'\n  c: 3 # plain\n  d: x\n")
        #expect(try edited(text, line: 4, column: 6, to: "it's") == "# head\nspec:\n  a: \"3\"   # pinned\n  b: 'it''s'\n  c: 3 # plain\n  d: x\n")
        #expect(try edited(text, line: 5, column: 6, to: "4") == "# head\nspec:\n  a: \"3\"   # pinned\n  b: '3'\n  c: 4 # plain\n  d: x\n")
        #expect(try edited("v: 1\r\nw: 2\r\n", line: 1, column: 4, to: "5") == "v: 5\r\nw: 2\r\n")
    }

    @Test("a plain value that would read back as something else is double-quoted")
    func plainThatNeedsQuotes() throws {
        #expect(try edited("v: 3\n", line: 1, column: 4, to: "true") == "v: \"true\"\n")
        #expect(try edited("v: 3\n", line: 1, column: 4, to: "a: b") == "v: \"a: b\"\n")
        #expect(try edited("v: 3\n", line: 1, column: 4, to: "-1") == "v: \"-1\"\n")
        #expect(try edited("v: \"3\"\n", line: 1, column: 4, to: "say \"hi\"\\") == "v: \"say \\\"hi\\\"\\\\\"\n")
    }

    @Test("values in a flow mapping end at their comma or brace; columns count characters, not bytes")
    func flowAndColumns() throws {
        #expect(try edited("m: {v: 3, w: 4}\n", line: 1, column: 8, to: "9") == "m: {v: 9, w: 4}\n")
        // "é" is two bytes but one column, as libyaml counts.
        #expect(try edited("é: 3\n", line: 1, column: 4, to: "7") == "é: 7\n")
        let (range, value) = try ScalarEdit.scalar(in: Array("name: \"a\\\"b\"\n".utf8), line: 1, column: 7)
        #expect(value == "a\"b")
        #expect(range == 6..<12)
    }

    @Test("what cannot be rewritten on one line is refused, never guessed at")
    func refusals() {
        #expect(refusal("v: |\n  3\n", line: 1, column: 4)?.contains("block scalar") == true)
        #expect(refusal("v: a\n  b\n", line: 1, column: 4)?.contains("several lines") == true)
        #expect(refusal("v: \"a\n  b\"\n", line: 1, column: 4)?.contains("past its line") == true)
        #expect(refusal("v: \"a\\tb\"\n", line: 1, column: 4)?.contains("escape") == true)
        #expect(refusal("v: 3\n", line: 4, column: 1)?.contains("no line 4") == true)
        #expect(refusal("v: 3\n", line: 1, column: 9)?.contains("no column 9") == true)
        // A plain value followed by a line indented the same is one line long.
        #expect(refusal("v: a\nw: b\n", line: 1, column: 4) == nil)
    }
}
