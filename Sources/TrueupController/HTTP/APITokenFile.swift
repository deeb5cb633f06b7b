import Foundation
import TrueupCore
#if canImport(Glibc)
import Glibc
#endif

/// The API's token when none is given with `--api-token-env`: made at the first start and kept in
/// `STATE/api-token` (mode 0600), so the API is never open by accident. Controllers sharing a state
/// directory share the file; whoever starts first makes it, the others read it.
enum APITokenFile {
    static let name = "api-token"

    struct Loaded {
        var token: String
        var path: String
        /// True when this start made the file.
        var created: Bool
    }

    static func path(stateDirectory: String) -> String {
        (stateDirectory as NSString).appendingPathComponent(name)
    }

    static func loadOrCreate(stateDirectory: String) throws -> Loaded {
        let path = path(stateDirectory: stateDirectory)
        if let token = try read(path) { return Loaded(token: token, path: path, created: false) }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let token = ContentDigest.hex(bytes)
        // Written whole under a private name, then linked into place: a second controller never
        // reads half a token, and link() fails rather than replaces when another one won the race.
        let scratch = path + ".\(getpid()).tmp"
        unlink(scratch)
        let fd = open(scratch, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw failure("cannot create \(scratch)") }
        let text = Array((token + "\n").utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        defer { unlink(scratch) }
        guard written == text.count, synced == 0 else { throw failure("cannot write \(scratch)") }
        if link(scratch, path) != 0 {
            guard errno == EEXIST, let other = try read(path) else { throw failure("cannot create \(path)") }
            return Loaded(token: other, path: path, created: false)
        }
        return Loaded(token: token, path: path, created: true)
    }

    /// The token in the file, nil when there is no file. A file others may read is refused: the
    /// token would not be a secret.
    private static func read(_ path: String) throws -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw failure("cannot read \(path)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw ControllerError("the API token file \(path) may be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))): run `chmod 600 \(path)`, or delete it to have a new token made")
        }
        let token = (try String(contentsOfFile: path, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw ControllerError("the API token file \(path) is empty: delete it to have a new token made, or write a token in it")
        }
        return token
    }

    private static func failure(_ what: String) -> ControllerError {
        ControllerError("\(what): \(String(cString: strerror(errno))); check the state directory's permissions, or give a token with --api-token-env")
    }
}
