import Testing
import TrueupCore

struct DurationSyntaxTests {
    @Test(arguments: [
        ("30s", 30.0), ("10m", 600), ("1h30m", 5400), ("64h", 230_400), ("2d", 172_800), ("500ms", 0.5),
        ("1m30s", 90), ("0s", 0), ("90m", 5400),
    ])
    func durationsParse(_ text: String, _ seconds: Double) {
        #expect(DurationSyntax.seconds(text) == seconds)
    }

    @Test(arguments: ["", "10", "m", "10 m", "1.5h", "10x", "-5s", "h1", "10mm", "1h 30m", "１０s", "10M"])
    func nonDurationsAreRefused(_ text: String) {
        #expect(DurationSyntax.seconds(text) == nil)
    }

    @Test(arguments: [(90.0, "1m30s"), (3600, "1h"), (90061, "1d1h1m1s"), (0.25, "250ms"), (45, "45s")])
    func durationsFormatForPeople(_ seconds: Double, _ text: String) {
        #expect(DurationSyntax.format(seconds) == text)
    }
}

struct CronScheduleTests {
    /// Friday 2024-01-05 17:00:00 UTC.
    static let fridayFivePM: Int64 = 1_704_474_000

    @Test(arguments: [
        "0 17 * * 5", "*/15 9-17 * * MON-FRI", "0 2 1 JAN,JUL *", "5/10 * * * *", "0 0 * * 7", "0 0 * * sun",
        "0-59/30 0,12 1-31 1-12 0-6", "0  2  *  *  *",
    ])
    func validSchedulesParse(_ text: String) throws {
        #expect(try CronSchedule(text).source == text)
    }

    @Test(arguments: [
        ("0 17 * *", "it needs 5 fields (minute hour day-of-month month day-of-week), found 4"),
        ("0 17 * * 5 2024", "found 6"),
        ("@daily", "found 1"),
        ("60 * * * *", "'60' is not a valid minute (0-59)"),
        ("* 24 * * *", "'24' is not a valid hour (0-23)"),
        ("* * 0 * *", "'0' is not a valid day of month (1-31)"),
        ("* * * 13 *", "'13' is not a valid month (1-12)"),
        ("* * * * 8", "'8' is not a valid day of week (0-7)"),
        ("* * * * FRY", "'FRY' is not a valid day of week (0-7)"),
        ("*/0 * * * *", "'0' is not a valid step in the minute field"),
        ("5-1 * * * *", "range '5-1' runs backwards in the minute field"),
        (",1 * * * *", "empty list item in the minute field"),
        ("1/2/3 * * * *", "more than one '/'"),
    ])
    func invalidSchedulesSayWhichField(_ text: String, _ fragment: String) {
        #expect {
            _ = try CronSchedule(text)
        } throws: { error in
            String(describing: error).contains(fragment)
        }
    }

    @Test func scheduleMatchesItsMinutesOnly() throws {
        let friday = try CronSchedule("0 17 * * 5")
        #expect(friday.matches(epochSeconds: Self.fridayFivePM))
        #expect(friday.matches(epochSeconds: Self.fridayFivePM + 59))
        #expect(!friday.matches(epochSeconds: Self.fridayFivePM + 60))
        #expect(!friday.matches(epochSeconds: Self.fridayFivePM + 86_400 * 7 - 86_400))
        #expect(friday.matches(epochSeconds: Self.fridayFivePM + 86_400 * 7))
    }

    @Test func restrictedDayOfMonthOrWeekEitherMatches() throws {
        // Vixie cron: "the 13th, or any Friday".
        let schedule = try CronSchedule("0 0 13 * 5")
        let friday5th = Self.fridayFivePM - 17 * 3600
        #expect(schedule.matches(epochSeconds: friday5th))
        #expect(schedule.matches(epochSeconds: friday5th + 8 * 86_400))  // Saturday the 13th
        #expect(!schedule.matches(epochSeconds: friday5th + 86_400))
    }

    @Test func lastFiringLooksBackToTheMostRecentStart() throws {
        let schedule = try CronSchedule("0 17 * * 5")
        let sundayNoon = Self.fridayFivePM + 43 * 3600
        #expect(schedule.lastFiring(atOrBefore: sundayNoon, lookback: 64 * 3600) == Self.fridayFivePM)
        #expect(schedule.lastFiring(atOrBefore: sundayNoon, lookback: 42 * 3600) == nil)
    }
}

struct ThresholdTests {
    @Test(arguments: [
        (">= 0.85", Threshold.Comparison.atLeast, 0.85), ("<=120", .atMost, 120), ("> -1", .above, -1), ("< 1e-3", .below, 0.001),
        ("== 0", .equal, 0), ("!= 2.5", .notEqual, 2.5), ("  >=  1  ", .atLeast, 1),
    ])
    func thresholdsParse(_ text: String, _ comparison: Threshold.Comparison, _ value: Double) throws {
        let threshold = try #require(Threshold(text))
        #expect(threshold.comparison == comparison)
        #expect(threshold.value == value)
    }

    @Test(arguments: ["0.85", "=> 1", ">= high", ">=", "≥ 1", "= 1", ">= 1 2", ">= inf", ">= nan", ""])
    func nonThresholdsAreRefused(_ text: String) {
        #expect(Threshold(text) == nil)
    }

    @Test(arguments: [
        (">= 0.85", 0.85, true), (">= 0.85", 0.849, false), ("<= 120", 121, false), ("> 0", 0, false),
        ("< 1", 0.5, true), ("== 3", 3, true), ("!= 3", 3, false),
    ])
    func thresholdsCompare(_ text: String, _ actual: Double, _ met: Bool) throws {
        #expect(try #require(Threshold(text)).isMet(by: actual) == met)
    }

    @Test func thresholdPrintsCanonically() throws {
        #expect(try #require(Threshold(">=0.850")).description == ">= 0.85")
        #expect(try #require(Threshold("<= 120.0")).description == "<= 120")
    }
}
