/// A gate's metric threshold: `">= 0.85"`, `"<= 120"`.
public struct Threshold: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Comparison: String, Sendable, Codable, CaseIterable {
        case atLeast = ">=", atMost = "<=", above = ">", below = "<", equal = "==", notEqual = "!="
    }

    public var comparison: Comparison
    public var value: Double

    public init?(_ text: String) {
        let trimmed = Self.trimmed(Substring(text))
        // Two-character operators first, so ">=" is not read as ">" followed by "=0.85".
        for op in [Comparison.atLeast, .atMost, .equal, .notEqual, .above, .below] where trimmed.hasPrefix(op.rawValue) {
            guard let v = Double(Self.trimmed(trimmed.dropFirst(op.rawValue.count))), v.isFinite else { return nil }
            comparison = op
            value = v
            return
        }
        return nil
    }

    /// Without the spaces and tabs around it (not line breaks), as Foundation's `.whitespaces` trims.
    private static func trimmed(_ text: Substring) -> Substring {
        func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || (c.isWhitespace && !c.isNewline) }
        var text = text
        while let first = text.first, isSpace(first) { text = text.dropFirst() }
        while let last = text.last, isSpace(last) { text = text.dropLast() }
        return text
    }

    public func isMet(by actual: Double) -> Bool {
        switch comparison {
        case .atLeast: return actual >= value
        case .atMost: return actual <= value
        case .above: return actual > value
        case .below: return actual < value
        case .equal: return actual == value
        case .notEqual: return actual != value
        }
    }

    public var description: String { "\(comparison.rawValue) \(SchemaValidator.trim(value))" }
}
