import Foundation
import Glibc
import TrueupCore

/// One Serve configuration change per cluster at a time. The Serve API replaces the whole
/// configuration, so two read-modify-write cycles that overlap (two environments on one cluster,
/// or two trueup processes) would each drop the other's application. Within a process an async
/// queue per cluster URL orders them; across processes on one machine an exclusive `flock` on a
/// file in the system's temporary folder does (not in the state folder: two trueups with their
/// own state folders may share a cluster). trueups on different machines are not ordered: Ray
/// offers no lock, and `RayServing` notices an application removed under it and fails transiently.
public enum RayClusterLock {
    /// Runs `body` holding the lock of the cluster at `url`.
    public static func with<T: Sendable>(url: String, _ body: @Sendable () async throws -> T) async throws -> T {
        let queue = await Registry.shared.queue(for: url)
        return try await queue.run {
            let descriptor = try await acquireFile(url: url)
            defer {
                flock(descriptor, LOCK_UN)
                close(descriptor)
            }
            return try await body()
        }
    }

    static func acquireFile(url: String) async throws -> Int32 {
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("trueup-locks")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = (folder as NSString).appendingPathComponent("ray-serve-\(ContentDigest.sha256(Data(url.utf8)).prefix(16)).lock")
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw BackendError("cannot open the Serve lock file \(path): \(String(cString: strerror(errno))); check that the temporary folder is writable")
        }
        let began = Date()
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if Date().timeIntervalSince(began) > 600 {
                close(descriptor)
                throw BackendError("another trueup process has held the Serve lock of the Ray cluster at \(url) (\(path)) for 10 minutes: wait for its apply to end, or stop it", transient: true)
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        return descriptor
    }

    actor Registry {
        static let shared = Registry()
        var queues: [String: Queue] = [:]

        func queue(for url: String) -> Queue {
            if let queue = queues[url] { return queue }
            let queue = Queue()
            queues[url] = queue
            return queue
        }
    }

    /// Runs one body at a time, in arrival order.
    actor Queue {
        private var busy = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
            if busy {
                await withCheckedContinuation { waiting.append($0) }
            } else {
                busy = true
            }
            defer {
                if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
            }
            return try await body()
        }
    }
}
