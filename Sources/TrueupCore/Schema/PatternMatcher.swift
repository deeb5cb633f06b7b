/// A small regular-expression matcher for the `pattern` keyword of our schemas.
///
/// Written by hand because validation must stay within 2x of libyaml's own parse time, and neither
/// Foundation's NSRegularExpression nor the standard library's Regex comes close on thousands of
/// short strings. It supports what schemas here use: anchors `^...$`, literals, `.`, escapes
/// (`\d \s \w \.` ...), classes `[a-z0-9-]` and `[^...]`, groups with `|`, and the quantifiers
/// `? * + {m} {m,} {m,n}`. A pattern using anything else is refused when the schema is compiled.
/// Matching is over UTF-8 bytes; `.` and negated classes match one byte.
struct PatternMatcher: Sendable {
    struct UnsupportedPattern: Error, CustomStringConvertible {
        var pattern: String
        var reason: String
        var description: String { "unsupported schema pattern \(pattern): \(reason)" }
    }

    private indirect enum Atom: Sendable {
        case byteSet(ByteSet)
        case group([[Piece]])
    }

    private struct Piece: Sendable {
        var atom: Atom
        var min: Int
        var max: Int  // Int.max: unbounded
    }

    struct ByteSet: Sendable {
        var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        mutating func insert(_ b: UInt8) {
            let bit = UInt64(1) << UInt64(b & 63)
            switch b >> 6 {
            case 0: bits.0 |= bit
            case 1: bits.1 |= bit
            case 2: bits.2 |= bit
            default: bits.3 |= bit
            }
        }
        func contains(_ b: UInt8) -> Bool {
            let bit = UInt64(1) << UInt64(b & 63)
            switch b >> 6 {
            case 0: return bits.0 & bit != 0
            case 1: return bits.1 & bit != 0
            case 2: return bits.2 & bit != 0
            default: return bits.3 & bit != 0
            }
        }
        mutating func insert(_ range: ClosedRange<UInt8>) { for b in range { insert(b) } }
        mutating func formUnion(_ other: ByteSet) {
            bits.0 |= other.bits.0; bits.1 |= other.bits.1; bits.2 |= other.bits.2; bits.3 |= other.bits.3
        }
        func inverted() -> ByteSet {
            var s = ByteSet()
            s.bits = (~bits.0, ~bits.1, ~bits.2, ~bits.3)
            return s
        }
    }

    let source: String
    private let alternatives: [[Piece]]
    private let anchoredStart: Bool
    private let anchoredEnd: Bool

    init(_ pattern: String) throws {
        source = pattern
        var bytes = Array(pattern.utf8)
        anchoredStart = bytes.first == UInt8(ascii: "^")
        if anchoredStart { bytes.removeFirst() }
        anchoredEnd = bytes.last == UInt8(ascii: "$") && !(bytes.count >= 2 && bytes[bytes.count - 2] == UInt8(ascii: "\\"))
        if anchoredEnd { bytes.removeLast() }
        var parser = Parser(bytes: bytes, pattern: pattern)
        alternatives = try parser.parseAlternatives()
        guard parser.index == bytes.count else {
            throw UnsupportedPattern(pattern: pattern, reason: "unbalanced ')'")
        }
    }

    func matches(_ string: String) -> Bool {
        var s = string
        return s.withUTF8 { buffer in
            if anchoredStart {
                return matchAlternatives(alternatives, buffer, 0) { $0 == buffer.count || !anchoredEnd }
            }
            for start in 0...buffer.count {
                if matchAlternatives(alternatives, buffer, start, { $0 == buffer.count || !anchoredEnd }) { return true }
            }
            return false
        }
    }

    private func matchAlternatives(
        _ alts: [[Piece]], _ s: UnsafeBufferPointer<UInt8>, _ pos: Int, _ next: (Int) -> Bool
    ) -> Bool {
        for alt in alts where matchSequence(alt[...], s, pos, next) { return true }
        return false
    }

    private func matchSequence(
        _ pieces: ArraySlice<Piece>, _ s: UnsafeBufferPointer<UInt8>, _ pos: Int, _ next: (Int) -> Bool
    ) -> Bool {
        guard let piece = pieces.first else { return next(pos) }
        let rest = pieces.dropFirst()
        switch piece.atom {
        case .byteSet(let set):
            // Greedy run of single bytes, then back off: no recursion per repetition.
            var count = 0
            while count < piece.max, pos + count < s.count, set.contains(s[pos + count]) { count += 1 }
            guard count >= piece.min else { return false }
            while count >= piece.min {
                if matchSequence(rest, s, pos + count, next) { return true }
                count -= 1
            }
            return false
        case .group(let alts):
            return matchRepeat(alts, piece.min, piece.max, 0, rest, s, pos, next)
        }
    }

    private func matchRepeat(
        _ alts: [[Piece]], _ min: Int, _ max: Int, _ done: Int, _ rest: ArraySlice<Piece>,
        _ s: UnsafeBufferPointer<UInt8>, _ pos: Int, _ next: (Int) -> Bool
    ) -> Bool {
        if done < max {
            let more = matchAlternatives(alts, s, pos) { end in
                end > pos && matchRepeat(alts, min, max, done + 1, rest, s, end, next)
            }
            if more { return true }
        }
        return done >= min && matchSequence(rest, s, pos, next)
    }

    private struct Parser {
        let bytes: [UInt8]
        let pattern: String
        var index = 0

        mutating func parseAlternatives() throws -> [[Piece]] {
            var alts: [[Piece]] = [[]]
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: ")") { break }
                if c == UInt8(ascii: "|") {
                    index += 1
                    alts.append([])
                    continue
                }
                let atom = try parseAtom()
                let (min, max) = try parseQuantifier()
                alts[alts.count - 1].append(Piece(atom: atom, min: min, max: max))
            }
            return alts
        }

        mutating func parseAtom() throws -> Atom {
            let c = bytes[index]
            index += 1
            switch c {
            case UInt8(ascii: "("):
                if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "?"), bytes[index + 1] == UInt8(ascii: ":") {
                    index += 2
                } else if index < bytes.count, bytes[index] == UInt8(ascii: "?") {
                    // Lookarounds and named groups: read as literals they would silently match other text.
                    throw UnsupportedPattern(pattern: pattern, reason: "only (...) and (?:...) groups are supported")
                }
                let inner = try parseAlternatives()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ")") else {
                    throw UnsupportedPattern(pattern: pattern, reason: "unclosed '('")
                }
                index += 1
                return .group(inner)
            case UInt8(ascii: "["):
                return .byteSet(try parseClass())
            case UInt8(ascii: "."):
                return .byteSet(ByteSet().inverted())
            case UInt8(ascii: "\\"):
                return .byteSet(try parseEscape())
            case UInt8(ascii: "^"), UInt8(ascii: "$"):
                throw UnsupportedPattern(pattern: pattern, reason: "anchors are only supported at the start and end")
            case UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"):
                throw UnsupportedPattern(pattern: pattern, reason: "a quantifier follows nothing it could repeat")
            default:
                var set = ByteSet()
                set.insert(c)
                return .byteSet(set)
            }
        }

        mutating func parseEscape() throws -> ByteSet {
            guard index < bytes.count else { throw UnsupportedPattern(pattern: pattern, reason: "trailing '\\'") }
            let c = bytes[index]
            index += 1
            var set = ByteSet()
            switch c {
            case UInt8(ascii: "d"): set.insert(UInt8(ascii: "0")...UInt8(ascii: "9"))
            case UInt8(ascii: "w"):
                set.insert(UInt8(ascii: "a")...UInt8(ascii: "z")); set.insert(UInt8(ascii: "A")...UInt8(ascii: "Z"))
                set.insert(UInt8(ascii: "0")...UInt8(ascii: "9")); set.insert(UInt8(ascii: "_"))
            case UInt8(ascii: "s"): for b in [9, 10, 11, 12, 13, 32] as [UInt8] { set.insert(b) }
            case UInt8(ascii: "D"), UInt8(ascii: "W"), UInt8(ascii: "S"):
                var lower = bytes
                lower[index - 1] = c + 32
                var sub = Parser(bytes: lower, pattern: pattern, index: index - 1)
                return try sub.parseEscape().inverted()
            case UInt8(ascii: "n"): set.insert(10)
            case UInt8(ascii: "t"): set.insert(9)
            default:
                guard !(UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c), !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c),
                      !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else {
                    throw UnsupportedPattern(pattern: pattern, reason: "unsupported escape '\\\(Character(UnicodeScalar(c)))'")
                }
                set.insert(c)
            }
            return set
        }

        mutating func parseClass() throws -> ByteSet {
            var set = ByteSet()
            var negated = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "^") { negated = true; index += 1 }
            var first = true
            while index < bytes.count, bytes[index] != UInt8(ascii: "]") || first {
                first = false
                var low: UInt8
                if bytes[index] == UInt8(ascii: "\\") {
                    index += 1
                    let escaped = try parseEscape()
                    let c = bytes[index - 1]
                    if "dwsDWSnt".utf8.contains(c) { set.formUnion(escaped); continue }
                    low = c
                } else {
                    low = bytes[index]
                    index += 1
                }
                guard low < 128 else { throw UnsupportedPattern(pattern: pattern, reason: "non-ASCII in a class") }
                if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "-"), bytes[index + 1] != UInt8(ascii: "]") {
                    var high = bytes[index + 1]
                    index += 2
                    if high == UInt8(ascii: "\\") { high = bytes[index]; index += 1 }
                    guard low <= high else { throw UnsupportedPattern(pattern: pattern, reason: "reversed range in a class") }
                    set.insert(low...high)
                } else {
                    set.insert(low)
                }
            }
            guard index < bytes.count else { throw UnsupportedPattern(pattern: pattern, reason: "unclosed '['") }
            index += 1
            return negated ? set.inverted() : set
        }

        mutating func parseQuantifier() throws -> (Int, Int) {
            guard index < bytes.count else { return (1, 1) }
            switch bytes[index] {
            case UInt8(ascii: "?"): index += 1; return (0, 1)
            case UInt8(ascii: "*"): index += 1; return (0, Int.max)
            case UInt8(ascii: "+"): index += 1; return (1, Int.max)
            case UInt8(ascii: "{"):
                guard let close = bytes[index...].firstIndex(of: UInt8(ascii: "}")) else {
                    throw UnsupportedPattern(pattern: pattern, reason: "unclosed '{'")
                }
                let body = String(decoding: bytes[(index + 1)..<close], as: UTF8.self)
                index = close + 1
                let parts = body.split(separator: ",", omittingEmptySubsequences: false)
                guard let min = Int(parts[0]) else { throw UnsupportedPattern(pattern: pattern, reason: "bad quantifier {\(body)}") }
                if parts.count == 1 { return (min, min) }
                if parts[1].isEmpty { return (min, Int.max) }
                guard let max = Int(parts[1]), max >= min else { throw UnsupportedPattern(pattern: pattern, reason: "bad quantifier {\(body)}") }
                return (min, max)
            default:
                return (1, 1)
            }
        }
    }
}
