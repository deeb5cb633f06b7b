/// A standard five-field cron expression: minute, hour, day of month, month, day of week.
/// Supports `*`, lists, ranges, steps and the names JAN..DEC and SUN..SAT. Times are UTC.
public struct CronSchedule: Sendable, Hashable {
    public let source: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public struct SyntaxError: Error, CustomStringConvertible {
        public var description: String
    }

    private static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    private static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    public init(_ text: String) throws(SyntaxError) {
        source = text
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw SyntaxError(description: "'\(text)' is not a cron schedule: it needs 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        minutes = try Self.field(fields[0], "minute", 0...59, names: [])
        hours = try Self.field(fields[1], "hour", 0...23, names: [])
        daysOfMonth = try Self.field(fields[2], "day of month", 1...31, names: [])
        months = try Self.field(fields[3], "month", 1...12, names: Self.monthNames, nameBase: 1)
        var dow = try Self.field(fields[4], "day of week", 0...7, names: Self.dayNames)
        if dow.remove(7) != nil { dow.insert(0) }
        daysOfWeek = dow
        dayOfMonthRestricted = fields[2] != "*"
        dayOfWeekRestricted = fields[4] != "*"
    }

    private static func field(_ text: String, _ what: String, _ range: ClosedRange<Int>, names: [String], nameBase: Int = 0) throws(SyntaxError) -> Set<Int> {
        var result = Set<Int>()
        func value(_ s: Substring) throws(SyntaxError) -> Int {
            if let i = Int(s), range.contains(i) { return i }
            if let index = names.firstIndex(of: s.uppercased()) { return index + nameBase }
            throw SyntaxError(description: "'\(s)' is not a valid \(what) (\(range.lowerBound)-\(range.upperBound)) in cron schedule")
        }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw SyntaxError(description: "empty list item in the \(what) field of cron schedule '\(text)'") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw SyntaxError(description: "'\(part)' has more than one '/' in the \(what) field") }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else { throw SyntaxError(description: "'\(pieces[1])' is not a valid step in the \(what) field") }
                step = s
            }
            let bounds: ClosedRange<Int>
            if pieces[0] == "*" {
                bounds = range
            } else {
                let ends = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2 else { throw SyntaxError(description: "'\(pieces[0])' is not a valid range in the \(what) field") }
                let low = try value(ends[0])
                let high = ends.count == 2 ? try value(ends[1]) : (pieces.count == 2 ? range.upperBound : low)
                guard low <= high else { throw SyntaxError(description: "range '\(pieces[0])' runs backwards in the \(what) field") }
                bounds = low...high
            }
            result.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return result
    }

    /// Whether the schedule fires at the minute holding `epochSeconds` (UTC).
    public func matches(epochSeconds: Int64) -> Bool {
        let t = CivilTime(epochSeconds: epochSeconds)
        guard minutes.contains(t.minute), hours.contains(t.hour), months.contains(t.month) else { return false }
        let domMatch = daysOfMonth.contains(t.day)
        let dowMatch = daysOfWeek.contains(t.weekday)
        // Vixie cron: when both day fields are restricted, either may match.
        if dayOfMonthRestricted && dayOfWeekRestricted { return domMatch || dowMatch }
        return domMatch && dowMatch
    }

    /// The latest firing at or before `epochSeconds`, looking back at most `limit` seconds.
    public func lastFiring(atOrBefore epochSeconds: Int64, lookback limit: Int64) -> Int64? {
        var minute = epochSeconds - ((epochSeconds % 60) + 60) % 60
        let earliest = epochSeconds - limit
        while minute >= earliest {
            if matches(epochSeconds: minute) { return minute }
            minute -= 60
        }
        return nil
    }
}

/// UTC calendar fields of a timestamp (days-from-civil, Howard Hinnant's algorithm).
struct CivilTime {
    var year: Int, month: Int, day: Int, hour: Int, minute: Int, weekday: Int

    init(epochSeconds: Int64) {
        let days = Int(floorDiv(epochSeconds, 86400))
        let secs = Int(epochSeconds - Int64(days) * 86400)
        hour = secs / 3600
        minute = (secs % 3600) / 60
        weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4)
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

}

private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
