// Local/Processes: the local backend's child processes — spawning in a new session, jobs that run
// at most once per run folder even when the caller is killed, long-lived services, and the tiny
// HTTP client their health checks use. Plain POSIX (Glibc) and /proc: Linux only. It records
// nothing itself: the caller stores pids, start times and outcomes in the state store.
import Glibc

/// A system call in the process layer failed. Names the call, carries errno, says what to do.
public struct ProcessError: Error, Sendable, CustomStringConvertible {
    /// The C function (or step) that failed, e.g. `posix_spawn` or `flock`.
    public var call: String
    /// The errno value (or the error number a posix_spawn function returned); 0 when none.
    public var code: Int32
    /// What was being done, on what, and what to do about it.
    public var message: String

    public init(call: String, code: Int32, message: String) {
        self.call = call
        self.code = code
        self.message = message
    }

    /// Captures the current `errno`; call it on the line after the failing call.
    static func errno(_ call: String, _ message: String) -> ProcessError {
        ProcessError(call: call, code: Glibc.errno, message: message)
    }

    public var description: String {
        guard code != 0 else { return "\(call) failed: \(message)" }
        return "\(call) failed (\(String(cString: strerror(code)))): \(message)"
    }
}

/// Why `JobProcessRunner` refused to start or adopt a run: each keeps a job from running twice.
public enum JobRunError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another process holds the run folder's lock: the job (or its starter) is alive.
    case alreadyRunning(runFolder: String)
    /// The run folder already holds a `started` marker or an exit code: this run happened.
    case alreadyStarted(runFolder: String)
    /// `adopt` found no job: whoever held the lock died before spawning it.
    case neverStarted(runFolder: String)

    public var description: String {
        switch self {
        case .alreadyRunning(let folder):
            return "the job in \(folder) is running in another process (its lock is held); adopt it instead of starting it"
        case .alreadyStarted(let folder):
            return "the job in \(folder) has already been started once; inspect its result instead, or use a new run folder for a new run"
        case .neverStarted(let folder):
            return "no job was ever started in \(folder) (its starter died before spawning it); start it"
        }
    }
}
