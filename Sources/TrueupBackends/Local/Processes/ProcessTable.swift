import Foundation
import Glibc

/// What /proc says about one process: enough to tell our process from a recycled pid.
public struct ProcessStatus: Sendable, Equatable {
    public var pid: pid_t
    /// Field 3: R, S, D, Z (zombie: dead, waiting to be reaped), T...
    public var state: Character
    public var parentPID: pid_t
    public var processGroup: pid_t
    /// Field 22: clock ticks after boot when the process started. A pid that is reused gets a
    /// different start time, so (pid, startTime) names one process for the machine's uptime.
    public var startTime: UInt64

    /// A zombie has exited; it only waits for its parent to collect its status.
    public var isRunning: Bool { state != "Z" && state != "X" }
}

/// Reads /proc and signals process groups. Zombies count as gone: in containers whose init does
/// not reap orphans, a killed job's grandchildren stay zombies forever, and they hold nothing.
public enum ProcessTable {
    /// `/proc/<pid>/stat`, or nil when there is no such process.
    public static func status(of pid: pid_t) -> ProcessStatus? {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parseStat(text)
    }

    /// Parses one `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and may
    /// itself hold spaces and parentheses, so the fields after it are found from the last `)`.
    static func parseStat(_ text: String) -> ProcessStatus? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
              let pid = pid_t(text[..<open].trimmingCharacters(in: .whitespaces)) else { return nil }
        let rest = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // rest[0] is field 3 (state); field n is rest[n - 3].
        guard rest.count >= 20, let state = rest[0].first,
              let parent = pid_t(rest[1]), let group = pid_t(rest[2]), let start = UInt64(rest[19]) else { return nil }
        return ProcessStatus(pid: pid, state: state, parentPID: parent, processGroup: group, startTime: start)
    }

    /// Every running (non-zombie) process whose process group is `group`.
    public static func runningMembers(ofGroup group: pid_t) -> [ProcessStatus] {
        // Fast path: no process at all has this group.
        if group > 0, kill(-group, 0) != 0, errno == ESRCH { return [] }
        guard group > 0, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), let status = status(of: pid) else { return nil }
            return status.processGroup == group && status.isRunning ? status : nil
        }
    }

    /// Every running process-group leader whose working directory is `folder`: the services
    /// started there, found from /proc alone, whatever trueup managed to record before it died.
    public static func groupLeaders(workingIn folder: String) -> [ProcessStatus] {
        let target = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), let status = status(of: pid), status.isRunning, status.processGroup == pid,
                  let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"), cwd == target else { return nil }
            return status
        }
    }

    /// Sends `signal` to every process of the group. A group that is already gone is not an error.
    public static func signalGroup(_ group: pid_t, _ signal: Int32) throws {
        guard group > 1 else {
            throw ProcessError(call: "kill", code: EINVAL, message: "refusing to signal process group \(group)")
        }
        guard kill(-group, signal) == 0 else {
            if errno == ESRCH { return }
            throw ProcessError.errno("kill", "could not send signal \(signal) to process group \(group)")
        }
    }

    /// Collects the exit status of `pid` if it is an exited child of this process, so it does not
    /// stay a zombie. Returns true when it was collected (or is not our child any more).
    @discardableResult
    public static func reapIfExited(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { return true }
            if rc == 0 { return false }
            if errno == EINTR { continue }
            return true  // ECHILD: not our child, or already collected
        }
    }

    /// SIGTERM to the group, up to `graceSeconds` for it to leave, then SIGKILL; returns once no
    /// member runs any more (bounded: a process stuck in the kernel can outlast SIGKILL).
    /// Runs to the end even when the calling task is cancelled: a half-done kill leaves processes behind.
    static func terminateGroup(_ group: pid_t, graceSeconds: Double, reaping child: pid_t? = nil) async throws {
        try signalGroup(group, SIGTERM)
        if await waitUntilGroupGone(group, seconds: graceSeconds, reaping: child) { return }
        try signalGroup(group, SIGKILL)
        if await waitUntilGroupGone(group, seconds: 10, reaping: child) { return }
        throw ProcessError(call: "kill", code: 0,
                           message: "process group \(group) still runs 10 s after SIGKILL (stuck in the kernel?); check `ps -g \(group)`")
    }

    /// Polls until no member of the group runs; false when `seconds` passed first.
    static func waitUntilGroupGone(_ group: pid_t, seconds: Double, reaping child: pid_t? = nil) async -> Bool {
        let deadline = Monotonic.now + seconds
        while true {
            if let child { reapIfExited(child) }
            if runningMembers(ofGroup: group).isEmpty { return true }
            if Monotonic.now >= deadline { return false }
            await Monotonic.pause(milliseconds: 20)
        }
    }
}

/// Seconds on the monotonic clock, for deadlines that wall-clock jumps cannot move.
enum Monotonic {
    static var now: Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Sleeps even in a cancelled task (where `Task.sleep` returns at once), for loops that must
    /// finish cleaning up rather than spin.
    static func pause(milliseconds: Int) async {
        if Task.isCancelled {
            usleep(useconds_t(milliseconds * 1000))
        } else {
            try? await Task.sleep(for: .milliseconds(milliseconds))
        }
    }
}
