import Foundation

/// Rewrites one scalar of a YAML file in place, keeping every other byte (comments, order,
/// quoting, line endings) as the author wrote it: `trueup promote` changes a pinned version and
/// the commit it makes must show only that change, which re-serialising the tree would not.
///
/// The scalar is found by the source mark the loader gave its node (line and column, in
/// characters as libyaml counts them). Only one-line scalars are rewritten: plain, 'single' or
/// "double" quoted. A block scalar or a plain scalar that goes on over several lines is refused
/// rather than guessed at.
public enum ScalarEdit {
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// The scalar starting at `line`:`column` (1-based): its bytes' range and its value.
    public static func scalar(in bytes: [UInt8], line: Int, column: Int) throws(Problem) -> (range: Range<Int>, value: String) {
        let lineStart = try offset(in: bytes, line: line, column: 1)
        let start = try offset(in: bytes, line: line, column: column)
        let lineEnd = bytes[start...].firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) ?? bytes.count
        guard start < lineEnd else { throw Problem("no value at line \(line), column \(column)") }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            var index = start + 1
            var value: [UInt8] = []
            while index < lineEnd {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { return (start..<index + 1, String(decoding: value, as: UTF8.self)) }
                if byte == UInt8(ascii: "\\") {
                    // Only the escapes a version could hold are read back; others are refused.
                    guard index + 1 < lineEnd, [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/")].contains(bytes[index + 1]) else {
                        throw Problem("the value at line \(line), column \(column) uses an escape sequence: write it without one")
                    }
                    value.append(bytes[index + 1])
                    index += 2
                    continue
                }
                value.append(byte)
                index += 1
            }
            throw Problem("the quoted value at line \(line), column \(column) goes on past its line: write it on one line")
        case UInt8(ascii: "'"):
            var index = start + 1
            var value: [UInt8] = []
            while index < lineEnd {
                if bytes[index] == UInt8(ascii: "'") {
                    if index + 1 < lineEnd, bytes[index + 1] == UInt8(ascii: "'") {
                        value.append(UInt8(ascii: "'"))
                        index += 2
                        continue
                    }
                    return (start..<index + 1, String(decoding: value, as: UTF8.self))
                }
                value.append(bytes[index])
                index += 1
            }
            throw Problem("the quoted value at line \(line), column \(column) goes on past its line: write it on one line")
        case UInt8(ascii: "|"), UInt8(ascii: ">"):
            throw Problem("the value at line \(line), column \(column) is a block scalar: write it on one line")
        default:
            // A plain scalar ends at a comment (" #"), at a flow indicator of `{a: b}` or `[a]`, or
            // at the end of its line, less trailing blanks.
            var end = start
            while end < lineEnd {
                let byte = bytes[end]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") { break }
                if byte == UInt8(ascii: "#"), end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == 0x09 { break }
                end += 1
            }
            while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == 0x09 { end -= 1 }
            if continuesOnNextLine(bytes, lineStart: lineStart, lineEnd: lineEnd) {
                throw Problem("the value at line \(line), column \(column) goes on over several lines: write it on one line")
            }
            return (start..<end, String(decoding: bytes[start..<end], as: UTF8.self))
        }
    }

    /// `bytes` with the scalar at `line`:`column` set to `value`, quoted as the old one was (a
    /// plain scalar stays plain when the new value can be written plain, else it is double-quoted).
    public static func replacing(in bytes: [UInt8], line: Int, column: Int, with value: String) throws(Problem) -> [UInt8] {
        let (range, _) = try scalar(in: bytes, line: line, column: column)
        let written: String
        switch bytes[range.lowerBound] {
        case UInt8(ascii: "'"): written = "'" + value.replacingAll("'", with: "''") + "'"
        case UInt8(ascii: "\""): written = doubleQuoted(value)
        default: written = isSafePlain(value) ? value : doubleQuoted(value)
        }
        var edited = bytes
        edited.replaceSubrange(range, with: Array(written.utf8))
        return edited
    }

    private static func doubleQuoted(_ value: String) -> String {
        "\"" + value.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
    }

    /// Text that reads back as the same string when written unquoted: letters, digits and `._+-`,
    /// not starting with `-` (a list item) or looking like null or a boolean.
    static func isSafePlain(_ value: String) -> Bool {
        guard let first = value.utf8.first, first != UInt8(ascii: "-"), first != UInt8(ascii: ".") else { return false }
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
        }
        let reserved: Set<String> = ["null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "no", "on", "off", "y", "n"]
        return allowed && !reserved.contains(value)
    }

    /// The byte offset of `line`:`column`, counting columns in characters (UTF-8 sequences).
    private static func offset(in bytes: [UInt8], line: Int, column: Int) throws(Problem) -> Int {
        var index = 0
        var currentLine = 1
        while currentLine < line {
            guard let newline = bytes[index...].firstIndex(of: 0x0A) else { throw Problem("the file has no line \(line)") }
            index = newline + 1
            currentLine += 1
        }
        var currentColumn = 1
        while currentColumn < column {
            guard index < bytes.count, bytes[index] != 0x0A else { throw Problem("line \(line) has no column \(column)") }
            index += 1
            // Continuation bytes of a UTF-8 sequence belong to the character before.
            while index < bytes.count, bytes[index] & 0xC0 == 0x80 { index += 1 }
            currentColumn += 1
        }
        return index
    }

    /// Whether the next line with text is indented deeper than the scalar's own line: a plain
    /// scalar goes on there. Conservative where YAML's rules are finer (a deeper comment line).
    private static func continuesOnNextLine(_ bytes: [UInt8], lineStart: Int, lineEnd: Int) -> Bool {
        func indent(at start: Int) -> Int {
            var count = 0
            while start + count < bytes.count, bytes[start + count] == UInt8(ascii: " ") { count += 1 }
            return count
        }
        var index = lineEnd
        while index < bytes.count {
            while index < bytes.count, bytes[index] == 0x0A || bytes[index] == 0x0D { index += 1 }
            guard index < bytes.count else { return false }
            let next = index + indent(at: index)
            // A blank line (spaces only) says nothing: look further.
            if next < bytes.count, bytes[next] != 0x0A, bytes[next] != 0x0D { return indent(at: index) > indent(at: lineStart) }
            index = next
        }
        return false
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        replacingOccurrences(of: target, with: replacement)
    }
}
