import Glibc

/// Owns one open descriptor of a run folder's `lock` file and the `flock` taken on it.
///
/// `flock` locks belong to the open file description, not the process: a child that inherits the
/// descriptor holds the lock too, and it is released only when the last copy is closed — when the
/// job and everything it started have exited, whether or not the process that started it lives.
final class RunFolderLock {
    let path: String
    let descriptor: Int32

    enum Mode {
        case exclusive
        case shared
    }

    /// Opens the lock file, creating it when `create` is true; nil when it does not exist and
    /// `create` is false. The descriptor is close-on-exec: it reaches a child only on purpose.
    init?(path: String, create: Bool) throws {
        self.path = path
        let flags = create ? (O_RDWR | O_CREAT | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else {
            if errno == ENOENT && !create { return nil }
            throw ProcessError.errno("open", "could not open the run lock \(path); check that the state directory is readable and writable")
        }
        descriptor = fd
    }

    /// Takes the lock without blocking; false when another open description holds it.
    /// Retries for `attempts` × 10 ms, so that a brief `inspect` probe elsewhere does not make a
    /// caller think a job is running.
    func tryLock(_ mode: Mode, attempts: Int = 1) throws -> Bool {
        let operation = (mode == .exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB
        var remaining = max(attempts, 1)
        while true {
            if flock(descriptor, operation) == 0 { return true }
            let code = errno
            if code == EINTR { continue }
            guard code == EWOULDBLOCK else {
                throw ProcessError(call: "flock", code: code, message: "could not lock \(path)")
            }
            remaining -= 1
            if remaining == 0 { return false }
            usleep(10_000)
        }
    }

    deinit {
        close(descriptor)
    }
}
