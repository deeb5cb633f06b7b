#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What `lstat` says is at a path. Symlinks are reported as such and never followed.
enum DiskNode: Equatable {
    case file(executable: Bool)
    case directory
    case symlink
    /// A fifo, socket or device: nothing git would store.
    case other
}

/// The few POSIX calls the working-tree snapshot needs, each turning `errno` into a `GitError`.
enum DiskFiles {
    /// What is at `path`, or nil when nothing is.
    static func node(at path: String) throws(GitError) -> DiskNode? {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            let error = errno
            if error == ENOENT || error == ENOTDIR { return nil }
            throw failure(error, "lstat", "inspect '\(path)'")
        }
        // POSIX file type bits, identical on Linux and Darwin.
        switch UInt32(status.st_mode) & 0o170000 {
        case 0o100000: return .file(executable: UInt32(status.st_mode) & 0o100 != 0)
        case 0o040000: return .directory
        case 0o120000: return .symlink
        default: return .other
        }
    }

    /// The names in the directory at `path` (no `.` or `..`), unsorted.
    static func names(in path: String) throws(GitError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw GitError(
                kind: .io, operation: "list '\(path)'", message: "\(error)",
                hint: "check that the working tree is readable"
            )
        }
    }

    /// The target of the symlink at `path`, as raw bytes (what git stores as the link's blob).
    static func linkTarget(at path: String) throws(GitError) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count)
        guard length >= 0 else { throw failure(errno, "readlink", "read the symlink '\(path)'") }
        return buffer[0..<length].map { UInt8(bitPattern: $0) }
    }

    /// The bytes of the regular file at `path`; refuses to follow a symlink in the last component.
    static func contents(at path: String) throws(GitError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(errno, "open", "read '\(path)'") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure(errno, "fstat", "read '\(path)'") }
        // Sized to the file (plus one byte to see the end) so small files cost one small read.
        let expected = Int(status.st_size)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expected)
        var chunk = [UInt8](repeating: 0, count: min(max(expected + 1, 4096), 1 << 20))
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                let error = errno
                if error == EINTR { continue }
                throw failure(error, "read", "read '\(path)'")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    private static func failure(_ error: Int32, _ function: String, _ operation: String) -> GitError {
        GitError(
            kind: .io, operation: operation,
            message: "\(function) failed: \(String(cString: strerror(error))) (errno \(error))",
            hint: "check that the working tree is readable by this user"
        )
    }
}
