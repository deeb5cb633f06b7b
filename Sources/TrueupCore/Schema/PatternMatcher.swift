import Synchronization

/// A small regular-expression matcher for the `pattern` keyword of our schemas.
///
/// The one regular-expression engine in trueup. Written by hand because validation matches a
/// pattern on most names and references of every resource: the standard library's `Regex` takes
/// about 1 µs per match on a short name, and made `validate` of 3 x 5,000 resources 11% slower
/// (15% more CPU) than this automaton, which reads one table entry per byte. It supports what schemas here use: anchors `^...$`, literals, `.`, escapes
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
    private let anchoredEnd: Bool
    /// The pattern as a deterministic automaton: matching reads one table entry per byte, linear
    /// in the string with no backtracking.
    private let automaton: Automaton

    /// The pattern as a nondeterministic program (Thompson's construction), the step between
    /// parsing and the automaton made from it by subset construction.
    private enum Instruction: Sendable {
        /// Consume one byte of the set, then go on with the next instruction.
        case byte(ByteSet)
        /// Go on at both targets.
        case split(Int, Int)
        case jump(Int)
        case match
    }

    init(_ pattern: String) throws {
        source = pattern
        var bytes = Array(pattern.utf8)
        let anchoredStart = bytes.first == UInt8(ascii: "^")
        if anchoredStart { bytes.removeFirst() }
        anchoredEnd = bytes.last == UInt8(ascii: "$") && !(bytes.count >= 2 && bytes[bytes.count - 2] == UInt8(ascii: "\\"))
        if anchoredEnd { bytes.removeLast() }
        var parser = Parser(bytes: bytes, pattern: pattern)
        let alternatives = try parser.parseAlternatives()
        guard parser.index == bytes.count else {
            throw UnsupportedPattern(pattern: pattern, reason: "unbalanced ')'")
        }
        var compiler = Compiler()
        compiler.alternatives(alternatives)
        compiler.program.append(.match)
        guard compiler.program.count <= Self.maximumProgram else {
            throw UnsupportedPattern(pattern: pattern, reason: "its repetitions are too large (over \(Self.maximumProgram) states)")
        }
        guard let automaton = Automaton(compiler.program, anchoredStart: anchoredStart) else {
            throw UnsupportedPattern(pattern: pattern, reason: "its automaton would have over \(Automaton.maximumStates) states")
        }
        self.automaton = automaton
    }

    /// The matcher for `source`, compiled once per process: the schemas repeat a few patterns
    /// (names, references) in many places, and building an automaton is not free.
    static func compiled(_ source: String) throws -> PatternMatcher {
        if let known = cache.withLock({ $0[source] }) { return known }
        let matcher = try PatternMatcher(source)
        cache.withLock { $0[source] = matcher }
        return matcher
    }

    private static let cache = Mutex<[String: PatternMatcher]>([:])

    /// Patterns are written by us for our schemas; this only keeps a typo such as {0,100000} out.
    static let maximumProgram = 4096

    func matches(_ string: String) -> Bool {
        var s = string
        return s.withUTF8 { automaton.matches($0, anchoredEnd: anchoredEnd) }
    }

    /// A deterministic automaton built from the program by subset construction: each state is the
    /// set of program states alive after the bytes read so far (for a pattern not anchored at the
    /// start, with the program's start added at every byte, since a match may begin anywhere).
    /// Bytes that every instruction treats alike share a column.
    private struct Automaton: Sendable {
        /// The column of each byte.
        let columnOf: [UInt8]
        let columns: Int
        /// `next[state * columns + column]`: the following state, or -1 when no match can follow.
        let next: [Int32]
        /// Whether the state's set holds `match`.
        let accepting: [Bool]

        /// Patterns whose automaton would have more states are refused.
        static let maximumStates = 2048

        init?(_ program: [Instruction], anchoredStart: Bool) {
            // Columns: split the 256 bytes by membership in each distinct byte set of the program.
            // Built at every start, once per distinct pattern, so arrays rather than dictionaries.
            var distinct: [ByteSet] = []
            for case .byte(let set) in program where !distinct.contains(where: { $0.bits == set.bits }) { distinct.append(set) }
            var columnOf = [UInt8](repeating: 0, count: 256)
            var columns = 1
            for set in distinct {
                var renumbered = [Int16](repeating: -1, count: 512)
                var count: Int16 = 0
                for byte in 0..<256 {
                    let key = Int(columnOf[byte]) * 2 + (set.contains(UInt8(byte)) ? 1 : 0)
                    if renumbered[key] < 0 {
                        guard count < 256 else { return nil }
                        renumbered[key] = count
                        count += 1
                    }
                    columnOf[byte] = UInt8(renumbered[key])
                }
                columns = Int(count)
            }
            var representative = [UInt8](repeating: 0, count: columns)
            for byte in (0..<256).reversed() { representative[Int(columnOf[byte])] = UInt8(byte) }

            /// The byte-consuming states reached from `starts` through splits and jumps, sorted,
            /// and whether `match` is among them.
            var stamps = [Int](repeating: -1, count: program.count)
            var generation = 0
            var stack: [Int] = []
            func closure(_ starts: [Int]) -> (states: [Int], accepting: Bool) {
                generation += 1
                var states: [Int] = [], accepting = false
                stack.removeAll(keepingCapacity: true)
                stack.append(contentsOf: starts.reversed())
                while let pc = stack.popLast() {
                    guard stamps[pc] != generation else { continue }
                    stamps[pc] = generation
                    switch program[pc] {
                    case .byte: states.append(pc)
                    case .split(let first, let second): stack.append(second); stack.append(first)
                    case .jump(let target): stack.append(target)
                    case .match: accepting = true
                    }
                }
                return (states.sorted(), accepting)
            }

            var numbers: [[Int]: Int32] = [:]
            var sets: [[Int]] = []
            var accepting: [Bool] = []
            var next: [Int32] = []
            func number(_ found: (states: [Int], accepting: Bool)) -> Int32 {
                // The same states with and without `match` are two states: -1 marks the latter.
                let key = found.accepting ? found.states + [-1] : found.states
                if let known = numbers[key] { return known }
                let state = Int32(sets.count)
                numbers[key] = state
                sets.append(found.states)
                accepting.append(found.accepting)
                return state
            }
            _ = number(closure([0]))
            var state = 0
            // The columns of one state that reach the same program states reach the same state.
            var byTargets: [[Int]: Int32] = [:]
            var targets: [Int] = []
            while state < sets.count {
                guard sets.count <= Self.maximumStates else { return nil }
                for column in 0..<columns {
                    let byte = representative[column]
                    targets.removeAll(keepingCapacity: true)
                    for pc in sets[state] {
                        if case .byte(let set) = program[pc], set.contains(byte) { targets.append(pc + 1) }
                    }
                    // Unanchored: a match may also start after this byte.
                    if !anchoredStart { targets.append(0) }
                    // Most bytes lead nowhere from most states: no closure to compute for those.
                    if targets.isEmpty { next.append(-1); continue }
                    if let known = byTargets[targets] { next.append(known); continue }
                    let found = closure(targets)
                    let following = found.states.isEmpty && !found.accepting ? -1 : number(found)
                    byTargets[targets] = following
                    next.append(following)
                }
                byTargets.removeAll(keepingCapacity: true)
                state += 1
            }
            self.columnOf = columnOf
            self.columns = columns
            self.next = next
            self.accepting = accepting
        }

        func matches(_ bytes: UnsafeBufferPointer<UInt8>, anchoredEnd: Bool) -> Bool {
            var state = 0
            if !anchoredEnd, accepting[0] { return true }
            for byte in bytes {
                let following = next[state * columns + Int(columnOf[Int(byte)])]
                if following < 0 { return false }
                state = Int(following)
                if !anchoredEnd, accepting[state] { return true }
            }
            return accepting[state]
        }
    }

    /// Thompson's construction over the parsed pieces.
    private struct Compiler {
        var program: [Instruction] = []

        mutating func alternatives(_ alternatives: [[Piece]]) {
            var jumpsToEnd: [Int] = []
            for (index, sequence) in alternatives.enumerated() {
                if index < alternatives.count - 1 {
                    let split = program.count
                    program.append(.split(split + 1, -1))
                    self.sequence(sequence)
                    jumpsToEnd.append(program.count)
                    program.append(.jump(-1))
                    program[split] = .split(split + 1, program.count)
                } else {
                    self.sequence(sequence)
                }
            }
            for jump in jumpsToEnd { program[jump] = .jump(program.count) }
        }

        mutating func sequence(_ pieces: [Piece]) {
            for piece in pieces { self.piece(piece) }
        }

        mutating func piece(_ piece: Piece) {
            for _ in 0..<piece.min { atom(piece.atom) }
            if piece.max == Int.max {
                // loop: split(body, out); body; jump(loop)
                let loop = program.count
                program.append(.split(loop + 1, -1))
                atom(piece.atom)
                program.append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            } else if piece.max > piece.min {
                // Each optional copy may be skipped to the end of all of them.
                var skips: [Int] = []
                for _ in piece.min..<piece.max {
                    skips.append(program.count)
                    program.append(.split(program.count + 1, -1))
                    atom(piece.atom)
                }
                for skip in skips { program[skip] = .split(skip + 1, program.count) }
            }
        }

        mutating func atom(_ atom: Atom) {
            switch atom {
            case .byteSet(let set): program.append(.byte(set))
            case .group(let inner): alternatives(inner)
            }
        }
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
