import Foundation
import Testing
@testable import TrueupCore

/// The schemas' `pattern` keywords are matched by trueup's own engine; Foundation's
/// NSRegularExpression (ICU) is the independent judge of what each pattern means.
struct PatternMatcherTests {
    /// Every pattern of the built-in schemas, plus ones that exercise unanchored matching,
    /// alternation inside repetition and groups that can match nothing.
    static let patterns: [String] = {
        var found = Set<String>()
        for (_, text) in EmbeddedSchemas.byFile {
            var rest = Substring(text)
            while let range = rest.range(of: "\"pattern\": \"") {
                rest = rest[range.upperBound...]
                guard let close = rest.firstIndex(of: "\"") else { break }
                found.insert(String(rest[..<close]).replacingOccurrences(of: "\\\\", with: "\\"))
                rest = rest[close...]
            }
        }
        return found.sorted() + ["ab+c", "^(a|bc)*$", "^(x?)*y$", "[0-9]{2,3}$", "^a{3}$", "^(?:ab|a)(?:bc|c)$", "^[^/ ]+/[^/ ]+$", "\\d\\.\\d"]
    }()

    static let samples: [String] = [
        "", "a", "churn", "churn-model", "churn-", "-churn", "Churn", "c1", "a-b-c-1", String(repeating: "a", count: 63),
        String(repeating: "a", count: 64), "Job/train", "Job/train-churn", "Job/", "job/train", "Dataset/raw", "Deployment/api",
        "30s", "10m", "1h30m", "1h30", "ms", "5ms", "0d", ">= 0.85", "<=120", "> -1.5e3", "== 1", "!= 0.", ">=", "0.85",
        "/healthz", "/a b", "healthz", "/", "SEED", "_x1", "1x", "a.b-c_d", "v1.2.3", String(repeating: "f", count: 64),
        String(repeating: "0", count: 40), "abbbc", "ac", "xxabcxx", "abcbca", "bcbc", "xxy", "y", "aaa", "aaaa", "abc", "ac",
        "abbc", "ab/cd", "a/b/c", "1.5", "x1.5y", "é", "naïve", "a\nb", "a b",
    ]

    /// The samples, plus random strings over the bytes the patterns care about and near misses
    /// of the samples (one character replaced, inserted or removed): strings no one thought of.
    /// ASCII only in what is random: `.` and negated classes match one byte here, one UTF-16 unit
    /// in ICU, which differ on purpose for non-ASCII text.
    static let strings: [String] = {
        let alphabet = Array("aAbcz09-_./ >=<!eE+\tJob/Dataset".unicodeScalars)
        var generator = SplitMix64(seed: 2026)
        var strings = samples
        for _ in 0..<2000 {
            let length = Int.random(in: 0...70, using: &generator)
            strings.append(String(String.UnicodeScalarView((0..<length).map { _ in alphabet.randomElement(using: &generator)! })))
        }
        for sample in samples where !sample.isEmpty {
            for _ in 0..<20 {
                var scalars = Array(sample.unicodeScalars)
                let at = Int.random(in: 0..<scalars.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: scalars[at] = alphabet.randomElement(using: &generator)!
                case 1: scalars.insert(alphabet.randomElement(using: &generator)!, at: at)
                default: scalars.remove(at: at)
                }
                strings.append(String(String.UnicodeScalarView(scalars)))
            }
        }
        return strings
    }()

    @Test(arguments: patterns)
    func agreesWithICU(_ pattern: String) throws {
        let ours = try PatternMatcher(pattern)
        let icu = try NSRegularExpression(pattern: pattern)
        for sample in Self.strings {
            let expected = icu.firstMatch(in: sample, range: NSRange(sample.startIndex..., in: sample)) != nil
            #expect(ours.matches(sample) == expected, "pattern \(pattern) on \"\(sample)\": ICU says \(expected)")
        }
    }

    @Test func longInputsMatchInLinearTime() throws {
        // A backtracking engine takes exponential time on this; an automaton does not.
        let ours = try PatternMatcher("^(a|a)*b$")
        #expect(!ours.matches(String(repeating: "a", count: 5000)))
        #expect(ours.matches(String(repeating: "a", count: 5000) + "b"))
    }

    @Test func unsupportedPatternsAreRefused() {
        #expect(throws: PatternMatcher.UnsupportedPattern.self) { try PatternMatcher("^(?=a)b$") }
        #expect(throws: PatternMatcher.UnsupportedPattern.self) { try PatternMatcher("a{0,100000}") }
        #expect(throws: PatternMatcher.UnsupportedPattern.self) { try PatternMatcher("(ab") }
    }
}

/// A seeded generator, so a failure can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
