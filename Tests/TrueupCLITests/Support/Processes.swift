import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the tests read of other processes, straight from /proc (nothing trueup reports is trusted).
enum Processes {
    /// `/proc/<pid>/stat` fields: state (R, S, Z...) and start time (clock ticks after boot).
    static func stat(_ pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }

    /// True when `pid` runs (a zombie has exited: it only waits to be collected). With
    /// `startTime`, only when it is still that process and not a later one given the same pid.
    static func isRunning(_ pid: Int32, startTime: UInt64? = nil) -> Bool {
        guard let status = stat(pid), status.state != "Z", status.state != "X" else { return false }
        return startTime.map { $0 == status.startTime } ?? true
    }

    /// The working folder of `pid`, or nil when it is gone or unreadable.
    static func workingDirectory(_ pid: Int32) -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") else { return nil }
        return path
    }

    /// Every running process whose working folder is under `folder`: what trueup started there
    /// (jobs run in `runs/<identity>/code`, servers in `deployments/<env>/<name>/<hash>/code`).
    static func running(under folder: String) -> [Int32] {
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), isRunning(pid), let cwd = workingDirectory(pid) else { return false }
            return cwd.hasPrefix(prefix)
        }.sorted()
    }

    /// SIGTERM to exactly this process (if it is still the one that started at `startTime`), up
    /// to 10 s, then SIGKILL; returns once it is gone.
    static func stop(_ pid: Int32, startTime: UInt64? = nil) {
        guard isRunning(pid, startTime: startTime) else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while isRunning(pid, startTime: startTime) && Date() < deadline { usleep(50_000) }
        guard isRunning(pid, startTime: startTime) else { return }
        kill(pid, SIGKILL)
        let hardDeadline = Date().addingTimeInterval(10)
        while isRunning(pid, startTime: startTime) && Date() < hardDeadline { usleep(50_000) }
    }
}
