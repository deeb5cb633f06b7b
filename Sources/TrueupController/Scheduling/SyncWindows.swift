import Foundation
import TrueupCore

/// Whether an automatic sync may run now, from an environment's `spec.windows`.
///
/// A window is open from each firing of its cron schedule (UTC) for its duration. An open `deny`
/// window blocks; when the environment has `allow` windows, a sync runs only inside one of them.
/// Deny wins over allow. A window whose schedule cannot be read blocks, because a freeze that is
/// silently ignored is worse than a sync that waits.
public enum SyncWindows {
    public struct Verdict: Sendable, Equatable {
        public var allowed: Bool
        /// Why not, for status and logs; nil when allowed.
        public var reason: String?

        public static let allowed = Verdict(allowed: true, reason: nil)
    }

    public static func evaluate(_ windows: [EnvironmentSettings.Window], at time: Double) -> Verdict {
        let now = Int64(time.rounded(.down))
        var allowWindows = 0
        var insideAllow = false
        for window in windows {
            let schedule: CronSchedule
            do {
                schedule = try CronSchedule(window.schedule)
            } catch {
                return Verdict(allowed: false, reason: "the \(window.kind.rawValue) window '\(window.schedule)' cannot be read (\(error)): automatic syncs wait until it is fixed")
            }
            let closesAt = openUntil(schedule, duration: window.duration, at: now)
            switch window.kind {
            case .deny:
                if let closesAt {
                    return Verdict(allowed: false, reason: "deny window '\(window.schedule)' for \(DurationSyntax.format(window.duration)) is open until \(iso(closesAt)): the sync waits for it to close")
                }
            case .allow:
                allowWindows += 1
                if closesAt != nil { insideAllow = true }
            }
        }
        if allowWindows > 0 && !insideAllow {
            return Verdict(allowed: false, reason: "outside every allow window (\(windows.filter { $0.kind == .allow }.map(\.schedule).joined(separator: ", "))): the sync waits for the next one")
        }
        return .allowed
    }

    /// When the window that is open at `now` closes, or nil when it is closed.
    static func openUntil(_ schedule: CronSchedule, duration: Double, at now: Int64) -> Int64? {
        let length = Int64(duration.rounded(.up))
        guard length > 0, let firing = schedule.lastFiring(atOrBefore: now, lookback: length) else { return nil }
        return now < firing + length ? firing + length : nil
    }

    static func iso(_ seconds: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(seconds)))
    }
}
