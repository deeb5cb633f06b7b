import Foundation
import Glibc

/// One run of a job: a run folder (one per job identity), the code to run it in, and how.
public struct JobLaunch: Sendable {
    /// `STATE/runs/<identity>`; holds the lock, the markers and `job.log`. Created when missing.
    public var runFolder: String
    /// The job's code tree, already written by the caller; the command runs in it.
    public var codeFolder: String
    /// argv; looked up through the PATH of `environment`.
    public var command: [String]
    /// Exactly the job's environment (include PATH): nothing of trueup's own is passed on.
    public var environment: [String: String]
    public var timeoutSeconds: Double

    public init(runFolder: String, codeFolder: String, command: [String], environment: [String: String], timeoutSeconds: Double) {
        self.runFolder = runFolder
        self.codeFolder = codeFolder
        self.command = command
        self.environment = environment
        self.timeoutSeconds = timeoutSeconds
    }
}

/// A started job, as `start` returns it. Store `pid`, `startTime` and `startedAt` with the run.
public struct JobHandle: Sendable, Equatable {
    /// Absolute.
    public var runFolder: String
    /// The job's wrapper shell: also its process group and session id.
    public var pid: pid_t
    /// /proc start time of `pid` (nil when it had already exited when read).
    public var startTime: UInt64?
    /// Wall clock, so that a later process can enforce the same deadline (`adopt`).
    public var startedAt: Date
    public var timeoutSeconds: Double
}

/// How a job's run ended.
public enum JobExit: Sendable, Equatable {
    /// The command ran to its end; 128 + n when signal n killed it.
    case exited(code: Int32)
    /// trueup killed it at its timeout.
    case timedOut
    /// It started but no result was recorded: killed from outside, or the machine went down.
    case diedWithoutResult
}

/// What a run folder says about its job, read without changing anything.
public enum RunFolderState: Sendable, Equatable {
    /// Nothing ran: starting it now is safe.
    case neverStarted
    /// Someone holds the lock: the job, or a starter about to spawn it (pid not yet written).
    case running(pid: pid_t?)
    case finished(exitCode: Int32)
    case timedOut
    case diedWithoutResult
}

/// Runs a job at most once per run folder, even when the caller is killed at any point.
///
/// The protocol: the starter takes `flock(LOCK_EX)` on `runFolder/lock`, checks that no `started`
/// marker exists, and spawns the job in a new session with the lock's descriptor inherited as fd
/// 3. The job's wrapper shell writes `started` (its pid), runs the command with its output in
/// `job.log`, writes `exit_code` atomically and kills what is left of its process group. So:
/// - a starter killed before spawning leaves the lock free and no `started`: never started;
/// - a starter killed after spawning leaves the lock held by the job: running, to be adopted;
/// - the lock is free once every process of the job has exited; then `exit_code` is the result,
///   and a `started` without it means the job died without one.
/// A started run is never started again: a new run needs a new run folder (a new identity).
public struct JobProcessRunner: Sendable {
    /// Between SIGTERM and SIGKILL when a job times out.
    public var graceSeconds: Double
    /// How often `wait` and `adopt` look at the run folder.
    public var pollMilliseconds: Int

    public init(graceSeconds: Double = 5, pollMilliseconds: Int = 50) {
        self.graceSeconds = graceSeconds
        self.pollMilliseconds = pollMilliseconds
    }

    /// The files of a run folder.
    public enum RunFile {
        public static let lock = "lock"
        public static let started = "started"
        public static let log = "job.log"
        public static let exitCode = "exit_code"
        public static let timedOut = "timed_out"
    }

    /// The job's wrapper: `$1` is the run folder, the rest the command. It must stay in the
    /// foreground of its group (SIGTERM to the group reaches the command and the wrapper alike).
    static let wrapperScript = """
        run=$1; shift
        printf '%s\\n' "$$" > "$run/started.tmp" && command -p mv -f "$run/started.tmp" "$run/started" || exit 125
        "$@"
        code=$?
        printf '%s\\n' "$code" > "$run/exit_code.tmp" && command -p mv -f "$run/exit_code.tmp" "$run/exit_code"
        kill -s KILL 0
        """

    /// Starts the job unless this run folder was ever started.
    /// - Throws: `JobRunError.alreadyRunning` or `.alreadyStarted` rather than run it twice;
    ///   `ProcessError` when a system call fails.
    public func start(_ launch: JobLaunch) throws -> JobHandle {
        let runFolder = Self.absolute(launch.runFolder)
        let codeFolder = Self.absolute(launch.codeFolder)
        guard !launch.command.isEmpty else {
            throw ProcessError(call: "start", code: EINVAL, message: "the job for \(runFolder) has an empty command; give the job spec a command")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: codeFolder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ProcessError(call: "start", code: ENOENT, message: "the job's code folder \(codeFolder) does not exist; write the code tree before starting the job")
        }
        do {
            try FileManager.default.createDirectory(atPath: runFolder, withIntermediateDirectories: true)
        } catch {
            throw ProcessError(call: "mkdir", code: 0, message: "could not create the run folder \(runFolder): \(error); check the state directory's permissions")
        }
        guard let lock = try RunFolderLock(path: Self.file(runFolder, RunFile.lock), create: true) else {
            throw ProcessError(call: "open", code: ENOENT, message: "could not create the run lock in \(runFolder)")
        }
        // From here until the spawn, a crash releases the lock with nothing started.
        guard try lock.tryLock(.exclusive, attempts: 20) else { throw JobRunError.alreadyRunning(runFolder: runFolder) }
        let fm = FileManager.default
        if fm.fileExists(atPath: Self.file(runFolder, RunFile.started)) || fm.fileExists(atPath: Self.file(runFolder, RunFile.exitCode)) {
            throw JobRunError.alreadyStarted(runFolder: runFolder)
        }
        let pid = try ProcessSpawner.spawn(SpawnRequest(
            executable: "/bin/sh",
            arguments: ["sh", "-c", Self.wrapperScript, "trueup-job", runFolder] + launch.command,
            workingDirectory: codeFolder,
            environment: launch.environment,
            logPath: Self.file(runFolder, RunFile.log),
            inheritedDescriptor: lock.descriptor
        ))
        // Our copy of the lock closes when `lock` goes out of scope; the job holds it from here.
        return JobHandle(runFolder: runFolder, pid: pid, startTime: ProcessTable.status(of: pid)?.startTime,
                         startedAt: Date(), timeoutSeconds: launch.timeoutSeconds)
    }

    /// Waits for a job this process started, killing its process group at the timeout.
    /// Cancelling the waiting task leaves the job running; `adopt` can pick it up.
    public func wait(_ handle: JobHandle) async throws -> JobExit {
        try await watch(runFolder: handle.runFolder, timeoutSeconds: handle.timeoutSeconds, startedAt: handle.startedAt, child: handle.pid)
    }

    /// Waits for a job started by an earlier process (one that was killed), enforcing the same
    /// timeout from `startedAt` by killing the process group named in `started`.
    /// - Throws: `JobRunError.neverStarted` when the lock holder died before spawning the job.
    public func adopt(runFolder: String, timeoutSeconds: Double, startedAt: Date) async throws -> JobExit {
        try await watch(runFolder: Self.absolute(runFolder), timeoutSeconds: timeoutSeconds, startedAt: startedAt, child: nil)
    }

    /// Reads the run folder's state. Throws rather than guess when the folder cannot be read:
    /// a wrong `neverStarted` would run a job twice.
    public static func inspect(runFolder: String) throws -> RunFolderState {
        let folder = absolute(runFolder)
        let fm = FileManager.default
        // A shared lock held while reading keeps a concurrent `start` from changing the files
        // between the look at the lock and the look at the markers.
        let lock = try RunFolderLock(path: file(folder, RunFile.lock), create: false)
        if let lock, try !lock.tryLock(.shared) {
            if let pid = readInteger(file(folder, RunFile.started)) { return .running(pid: pid_t(pid)) }
            // Held with nothing started: a starter about to spawn, or only a moment's copy of a
            // starter's descriptor in a child another thread is spawning (close-on-exec closes it
            // at exec). Look again for a moment before saying a job may be on its way.
            if try !lock.tryLock(.shared, attempts: 20) {
                return .running(pid: readInteger(file(folder, RunFile.started)).map { pid_t($0) })
            }
        }
        if let code = readInteger(file(folder, RunFile.exitCode)) { return .finished(exitCode: code) }
        if fm.fileExists(atPath: file(folder, RunFile.exitCode)) {
            throw ProcessError(call: "read", code: 0, message: "\(file(folder, RunFile.exitCode)) does not hold an exit code; the run folder was edited by hand — remove the run folder to run the job again")
        }
        guard fm.fileExists(atPath: file(folder, RunFile.started)) else { return .neverStarted }
        return fm.fileExists(atPath: file(folder, RunFile.timedOut)) ? .timedOut : .diedWithoutResult
    }

    /// The loop behind `wait` and `adopt`: level-based, it re-reads the run folder each time.
    private func watch(runFolder: String, timeoutSeconds: Double, startedAt: Date, child: pid_t?) async throws -> JobExit {
        let deadline = Monotonic.now + timeoutSeconds - Date().timeIntervalSince(startedAt)
        while true {
            let state = try Self.inspect(runFolder: runFolder)
            // Collect our own child so it does not stay a zombie. (`adopt` reaps nothing: the
            // job's parent was another process, and a recycled pid could be someone else's child.)
            if let child { ProcessTable.reapIfExited(child) }
            switch state {
            case .finished(let code):
                return .exited(code: code)
            case .timedOut:
                return .timedOut
            case .diedWithoutResult:
                return .diedWithoutResult
            case .neverStarted:
                throw JobRunError.neverStarted(runFolder: runFolder)
            case .running(let written):
                let pid = written ?? child
                if let pid, FileManager.default.fileExists(atPath: Self.file(runFolder, RunFile.exitCode)) {
                    // The command ended but something of it still holds the lock: leftovers.
                    try ProcessTable.signalGroup(pid, SIGKILL)
                } else if let pid, Monotonic.now >= deadline {
                    return try await timeOut(runFolder: runFolder, group: pid, child: child)
                }
                // No pid yet: the starter holds the lock but has not spawned; it will, or die.
            }
            try await Task.sleep(for: .milliseconds(pollMilliseconds))
        }
    }

    /// Marks the run timed out, then SIGTERM, grace, SIGKILL to its whole process group.
    private func timeOut(runFolder: String, group: pid_t, child: pid_t?) async throws -> JobExit {
        // Written first so that a crash in the middle still reads as a timeout, not a mystery.
        // (The group id cannot have been recycled: the lock is held, so a member still lives.)
        _ = FileManager.default.createFile(atPath: Self.file(runFolder, RunFile.timedOut), contents: Data("timeout\n".utf8))
        try await ProcessTable.terminateGroup(group, graceSeconds: graceSeconds, reaping: child)
        if let code = Self.readInteger(Self.file(runFolder, RunFile.exitCode)) {
            return .exited(code: code)  // it finished in the same instant
        }
        return .timedOut
    }

    static func readInteger(_ path: String) -> Int32? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func file(_ folder: String, _ name: String) -> String {
        (folder as NSString).appendingPathComponent(name)
    }

    /// The wrapper runs in the code folder, so every path it is given must be absolute.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }
}
