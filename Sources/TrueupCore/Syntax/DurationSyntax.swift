/// Durations as specs write them: `30s`, `10m`, `1h30m`, `64h`, `500ms`, `2d`.
public enum DurationSyntax {
    /// Seconds, or nil when `text` is not a duration.
    public static func seconds(_ text: String) -> Double? {
        // Over bytes: every job and deployment has durations, and Characters cost grapheme breaking.
        let bytes = text.utf8
        var total = 0.0
        var index = bytes.startIndex
        guard index != bytes.endIndex else { return nil }
        while index != bytes.endIndex {
            let digitsStart = index
            while index != bytes.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index = bytes.index(after: index) }
            guard index != digitsStart, index != bytes.endIndex, let value = Double(text[digitsStart..<index]) else { return nil }
            let unit: Double
            let next = bytes.index(after: index)
            switch bytes[index] {
            case UInt8(ascii: "m") where next != bytes.endIndex && bytes[next] == UInt8(ascii: "s"):
                unit = 0.001
                index = bytes.index(after: next)
            case UInt8(ascii: "s"): unit = 1; index = next
            case UInt8(ascii: "m"): unit = 60; index = next
            case UInt8(ascii: "h"): unit = 3600; index = next
            case UInt8(ascii: "d"): unit = 86400; index = next
            default: return nil
            }
            total += value * unit
        }
        return total
    }

    /// `90` -> `1m30s`, for messages.
    public static func format(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int(seconds * 1000))ms" }
        var rest = Int(seconds.rounded())
        var out = ""
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out.isEmpty ? "0s" : out
    }
}
