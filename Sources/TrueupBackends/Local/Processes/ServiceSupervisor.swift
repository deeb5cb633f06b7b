import Dispatch
import Foundation
import Glibc

/// A deployment instance to run as a long-lived local process.
public struct ServiceLaunch: Sendable {
    /// The service's code tree, already written by the caller; the command runs in it.
    public var codeFolder: String
    /// argv; looked up through the PATH of `environment`.
    public var command: [String]
    /// Exactly the service's environment (include PATH); `PORT` is set from `port`.
    public var environment: [String: String]
    /// stdout and stderr are appended here.
    public var logPath: String
    /// The port the service must listen on (see `ServiceSupervisor.freePort()`).
    public var port: Int

    public init(codeFolder: String, command: [String], environment: [String: String], logPath: String, port: Int) {
        self.codeFolder = codeFolder
        self.command = command
        self.environment = environment
        self.logPath = logPath
        self.port = port
    }
}

/// A started service. Store all three: (pid, startTime) names this process and no later one.
public struct RunningService: Sendable, Equatable {
    /// Also its process group and session id.
    public var pid: pid_t
    public var port: Int
    /// /proc start time of `pid`, for `isAlive` and `stop` to tell it from a recycled pid.
    public var startTime: UInt64
}

/// How `stop` found the service.
public enum StopOutcome: Sendable, Equatable {
    /// It was running and is gone now, with every process of its group.
    case stopped
    /// It had already exited, or the pid belongs to another process now: nothing was signalled.
    case notRunning
}

/// Deployments as supervised local processes: each in its own session, so that it outlives the
/// trueup command that started it and stops with everything it started.
public struct ServiceSupervisor: Sendable {
    public init() {}

    /// Starts the service; it is not healthy yet (see `waitHealthy`).
    public func start(_ launch: ServiceLaunch) throws -> RunningService {
        guard !launch.command.isEmpty else {
            throw ProcessError(call: "start", code: EINVAL, message: "the service in \(launch.codeFolder) has an empty command; give the deployment a command")
        }
        var environment = launch.environment
        environment["PORT"] = String(launch.port)
        let logFolder = (launch.logPath as NSString).deletingLastPathComponent
        if !logFolder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: logFolder, withIntermediateDirectories: true)
            } catch {
                throw ProcessError(call: "mkdir", code: 0, message: "could not create the log folder \(logFolder): \(error)")
            }
        }
        // `exec` through the shell: the command is found on the service's own PATH, and the pid
        // we return is the service itself.
        let pid = try ProcessSpawner.spawn(SpawnRequest(
            executable: "/bin/sh",
            arguments: ["sh", "-c", "exec \"$@\"", "trueup-service"] + launch.command,
            workingDirectory: launch.codeFolder,
            environment: environment,
            logPath: launch.logPath
        ))
        guard let status = ProcessTable.status(of: pid) else {
            ProcessTable.reapIfExited(pid)
            throw ProcessError(call: "posix_spawn", code: 0, message: "the service \(launch.command.joined(separator: " ")) exited at once; see \(launch.logPath)")
        }
        return RunningService(pid: pid, port: launch.port, startTime: status.startTime)
    }

    /// Polls `GET path` every ~100 ms until a 2xx (true), the process dies or the timeout (false).
    public func waitHealthy(port: Int, path: String, timeoutSeconds: Double, pid: pid_t) async -> Bool {
        let deadline = Monotonic.now + timeoutSeconds
        let startTime = ProcessTable.status(of: pid)?.startTime
        while true {
            guard let startTime, Self.isAlive(pid: pid, startTime: startTime) else { return false }
            let remaining = deadline - Monotonic.now
            guard remaining > 0 else { return false }
            // The probe races a watch on the process: a probe of a port nobody listens on can take
            // its whole timeout (the HTTP client keeps trying to connect), and a death must end
            // the wait at once, not one slow probe later.
            let outcome: Bool? = await withTaskGroup(of: Bool?.self) { group in
                group.addTask {
                    if let response = await HTTPProbe.get(port: port, path: path, timeoutSeconds: min(remaining, 2)),
                       (200..<300).contains(response.status) {
                        return true
                    }
                    return nil
                }
                group.addTask {
                    while !Task.isCancelled {
                        if !Self.isAlive(pid: pid, startTime: startTime) { return false }
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            if let outcome { return outcome }
            guard Monotonic.now + 0.1 < deadline else { return false }
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                return false
            }
        }
    }

    /// SIGTERM to the service's process group, up to `graceSeconds`, then SIGKILL; returns once no
    /// process of the group runs. Signals nothing unless `pid` is still the process started at
    /// `startTime`. Finishes even when the calling task is cancelled.
    @discardableResult
    public func stop(pid: pid_t, startTime: UInt64, graceSeconds: Double) async throws -> StopOutcome {
        guard Self.isAlive(pid: pid, startTime: startTime) else {
            // Our service may have left workers behind in its group; the group id cannot belong
            // to anyone else while they live (a pid that is a group id is never handed out).
            if ProcessTable.status(of: pid) == nil, !ProcessTable.runningMembers(ofGroup: pid).isEmpty {
                try await ProcessTable.terminateGroup(pid, graceSeconds: graceSeconds)
                return .stopped
            }
            return .notRunning
        }
        try await ProcessTable.terminateGroup(pid, graceSeconds: graceSeconds, reaping: pid)
        return .stopped
    }

    /// True when `pid` runs and is the process that started at `startTime` (not a zombie, not a
    /// recycled pid). Collects the exit status of a dead service that is this process's child.
    public static func isAlive(pid: pid_t, startTime: UInt64) -> Bool {
        guard let status = ProcessTable.status(of: pid), status.startTime == startTime else { return false }
        if !status.isRunning {
            if status.parentPID == getpid() { ProcessTable.reapIfExited(pid) }
            return false
        }
        return true
    }

    /// The /proc start time of `pid`, to store beside it; nil when no such process runs.
    public static func startTime(of pid: pid_t) -> UInt64? {
        guard let status = ProcessTable.status(of: pid), status.isRunning else { return nil }
        return status.startTime
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
    /// Another process can take it before the service binds it; a failed health check says so.
    public static func freePort() throws -> Int {
        try bindable(port: 0) ?? { throw ProcessError.errno("bind", "could not bind 127.0.0.1:0 to find a free port") }()
    }

    /// Whether nothing listens on 127.0.0.1:`port` now (bound, then released).
    public static func isFree(port: Int) -> Bool {
        (try? bindable(port: port)) != nil
    }

    /// Binds 127.0.0.1:`port` (0: any) and releases it; the port bound, or nil when it is taken.
    private static func bindable(port: Int) throws -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProcessError.errno("socket", "could not open a TCP socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        // As a server would bind it: a port whose last connection is in TIME_WAIT is free for it.
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw ProcessError.errno("getsockname", "could not read the port bound on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
