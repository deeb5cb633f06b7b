import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One apply per environment at a time, across processes (DESIGN §3).
///
/// An exclusive `flock` on `locks/<env>.lock`: the kernel releases it when the holder exits, even
/// by `kill -9`, so a crashed apply never leaves the environment locked.
public final class EnvironmentLock: @unchecked Sendable {
    private let descriptor: Int32
    public let path: String

    /// Takes the lock, waiting at most `wait` seconds; the error names the holder and what to do.
    public init(directory: String, environment: String, wait: Double = 0) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("\(environment).lock")
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw EngineError("cannot open the lock file \(path): \(String(cString: strerror(errno))): check the state directory's permissions")
        }
        let deadline = Date().addingTimeInterval(wait)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                close(descriptor)
                throw EngineError("flock on \(path) failed: \(String(cString: strerror(errno)))")
            }
            if Date() >= deadline {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "another process"
                close(descriptor)
                throw EngineError("environment \(environment) is being applied by \(holder.isEmpty ? "another process" : holder): wait for it to finish, or pass --lock-timeout SECONDS to wait")
            }
            usleep(100_000)
        }
        let holder = "pid \(getpid()) since \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(descriptor, 0)
        _ = holder.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
