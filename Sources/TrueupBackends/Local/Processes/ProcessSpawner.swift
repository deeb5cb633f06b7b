import CPosixSpawn
import Glibc

/// One child process to spawn: what to run, where, with which environment, and where its output goes.
public struct SpawnRequest: Sendable {
    /// Absolute path of the program; no PATH search happens here (run `/bin/sh` for that).
    public var executable: String
    /// The full argv, `arguments[0]` included.
    public var arguments: [String]
    public var workingDirectory: String
    /// Exactly the child's environment: nothing of the parent's is passed on.
    public var environment: [String: String]
    /// stdout and stderr are appended to this file (created 0644 when missing).
    public var logPath: String
    /// A descriptor the child inherits as fd 3 (the run folder lock); no other descriptor above 2 is.
    public var inheritedDescriptor: Int32?

    public init(
        executable: String, arguments: [String], workingDirectory: String, environment: [String: String],
        logPath: String, inheritedDescriptor: Int32? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.logPath = logPath
        self.inheritedDescriptor = inheritedDescriptor
    }
}

/// Spawns children with `posix_spawn` in a new session: the child's pid is its process group id,
/// it outlives the caller (a `kill -9` of trueup does not reach it), and the whole group can be
/// signalled at once. stdin is /dev/null; stdout and stderr are appended to one log file.
public enum ProcessSpawner {
    /// The fd number the inherited descriptor gets in the child.
    public static let inheritedDescriptorNumber: Int32 = 3

    /// Spawns the child and returns its pid (== its process group id).
    public static func spawn(_ request: SpawnRequest) throws -> pid_t {
        guard request.executable.hasPrefix("/") else {
            throw ProcessError(call: "posix_spawn", code: EINVAL,
                               message: "executable '\(request.executable)' is not an absolute path; pass the full path or run it through /bin/sh")
        }
        // Lift the inherited descriptor above the fds the child gets first, so that setting up
        // 0-2 can never overwrite it; the copy is close-on-exec in the parent and closed at the end.
        var lifted: Int32 = -1
        if let fd = request.inheritedDescriptor {
            lifted = fcntl(fd, F_DUPFD_CLOEXEC, 10)
            guard lifted >= 0 else {
                throw ProcessError.errno("fcntl(F_DUPFD_CLOEXEC)", "could not duplicate descriptor \(fd) for the child")
            }
        }
        defer { if lifted >= 0 { close(lifted) } }

        var actions = posix_spawn_file_actions_t()
        try check(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init", "out of memory?")
        defer { posix_spawn_file_actions_destroy(&actions) }
        if lifted >= 0 {
            // dup2 to another number clears close-on-exec: only this copy crosses exec.
            try check(posix_spawn_file_actions_adddup2(&actions, lifted, inheritedDescriptorNumber),
                      "posix_spawn_file_actions_adddup2", "could not pass the lock descriptor to the child")
        }
        try check(posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0),
                  "posix_spawn_file_actions_addopen", "could not plan stdin from /dev/null")
        try check(posix_spawn_file_actions_addopen(&actions, 1, request.logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644),
                  "posix_spawn_file_actions_addopen", "could not plan stdout to \(request.logPath)")
        try check(posix_spawn_file_actions_adddup2(&actions, 1, 2),
                  "posix_spawn_file_actions_adddup2", "could not plan stderr to \(request.logPath)")
        try check(posix_spawn_file_actions_addchdir_np(&actions, request.workingDirectory),
                  "posix_spawn_file_actions_addchdir_np", "could not plan the working directory \(request.workingDirectory)")
        // Descriptors other code in this process opened without close-on-exec must not leak into a
        // job or service (a leaked run-folder lock would keep another job "running" forever).
        let firstClosed = lifted >= 0 ? inheritedDescriptorNumber + 1 : 3
        try check(posix_spawn_file_actions_addclosefrom_np(&actions, firstClosed),
                  "posix_spawn_file_actions_addclosefrom_np", "could not plan closing inherited descriptors")

        var attributes = posix_spawnattr_t()
        try check(posix_spawnattr_init(&attributes), "posix_spawnattr_init", "out of memory?")
        defer { posix_spawnattr_destroy(&attributes) }
        // New session (pgid == pid); signals unblocked and at their defaults, whatever this process
        // ignores or blocks (Swift programs commonly ignore SIGPIPE).
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        try check(posix_spawnattr_setsigmask(&attributes, &noSignals), "posix_spawnattr_setsigmask", "could not clear the signal mask")
        try check(posix_spawnattr_setsigdefault(&attributes, &defaults), "posix_spawnattr_setsigdefault", "could not reset signal handlers")
        let flags = Int16(Int32(trueup_POSIX_SPAWN_SETSID) | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        try check(posix_spawnattr_setflags(&attributes, flags), "posix_spawnattr_setflags", "could not request a new session")

        let argv = CStringArray(request.arguments)
        let envp = CStringArray(request.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        defer {
            argv.free()
            envp.free()
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, request.executable, &actions, &attributes, argv.pointers, envp.pointers)
        guard rc == 0 else {
            throw ProcessError(
                call: "posix_spawn", code: rc,
                message: "could not run \(request.executable) in \(request.workingDirectory) with its log at \(request.logPath); check that the program exists, the folder exists and the log's folder is writable")
        }
        return pid
    }

    private static func check(_ rc: Int32, _ call: String, _ message: String) throws {
        guard rc == 0 else { throw ProcessError(call: call, code: rc, message: message) }
    }
}

/// A NULL-terminated array of C strings for argv and envp, freed explicitly.
private struct CStringArray {
    var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    func free() {
        for pointer in pointers { Glibc.free(pointer) }
    }
}
