import Foundation
import Testing
import TrueupCore
@testable import TrueupController

@Suite("Sync windows: when an automatic sync may run")
struct SyncWindowsTests {
    /// Windows as `environment.yaml` gives them (durations in seconds once parsed).
    static func window(_ kind: String, _ schedule: String, hours: Double) throws -> EnvironmentSettings.Window {
        let json = #"{"kind": "\#(kind)", "schedule": "\#(schedule)", "duration": \#(hours * 3600)}"#
        return try JSONDecoder().decode(EnvironmentSettings.Window.self, from: Data(json.utf8))
    }

    // Friday 2026-11-27 and the Monday after, UTC.
    static let fridayBefore5pm = 1795798740.0   // 16:59
    static let friday5pm = 1795798800.0         // 17:00
    static let fridayEvening = 1795804200.0     // 18:30
    static let mondayMorningLate = 1796029199.0 // 08:59:59
    static let monday9am = 1796029200.0         // 09:00
    static let wednesdayNoon = 1795608000.0

    @Test(arguments: [
        (fridayBefore5pm, true), (friday5pm, false), (fridayEvening, false), (mondayMorningLate, false), (monday9am, true), (wednesdayNoon, true),
    ])
    func weekendFreeze(at time: Double, allowed: Bool) throws {
        let verdict = SyncWindows.evaluate([try Self.window("deny", "0 17 * * 5", hours: 64)], at: time)
        #expect(verdict.allowed == allowed)
        if !allowed {
            #expect(verdict.reason?.contains("deny window '0 17 * * 5'") == true)
            #expect(verdict.reason?.contains("2026-11-30T09:00:00Z") == true, "says when it closes: \(verdict.reason ?? "")")
        }
    }

    @Test func noWindowsAllowsAlways() {
        #expect(SyncWindows.evaluate([], at: Self.friday5pm) == .allowed)
    }

    @Test func allowWindowsLimitSyncsToThem() throws {
        // Weekdays 09:00-17:00.
        let office = try Self.window("allow", "0 9 * * 1-5", hours: 8)
        #expect(SyncWindows.evaluate([office], at: Self.wednesdayNoon).allowed)
        #expect(SyncWindows.evaluate([office], at: Self.monday9am).allowed)
        let evening = SyncWindows.evaluate([office], at: Self.fridayEvening)
        #expect(!evening.allowed)
        #expect(evening.reason?.contains("outside every allow window") == true)
    }

    @Test func denyWinsOverAllow() throws {
        let always = try Self.window("allow", "* * * * *", hours: 1)
        let freeze = try Self.window("deny", "0 17 * * 5", hours: 64)
        #expect(SyncWindows.evaluate([always, freeze], at: Self.wednesdayNoon).allowed)
        #expect(!SyncWindows.evaluate([always, freeze], at: Self.fridayEvening).allowed)
    }

    @Test func anUnreadableScheduleBlocksRatherThanBeingIgnored() throws {
        let verdict = SyncWindows.evaluate([try Self.window("deny", "every friday", hours: 1)], at: Self.wednesdayNoon)
        #expect(!verdict.allowed)
        #expect(verdict.reason?.contains("cannot be read") == true)
    }
}
