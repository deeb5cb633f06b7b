import Foundation
import Testing

/// A real git repository in a fresh temporary folder, driven with the `git` command line.
///
/// Global and system git configuration are ignored so the machine's settings cannot change results.
final class GitFixture {
    /// The folder holding this fixture's repositories; removed in deinit.
    let base: String
    /// The working tree of the main repository.
    let path: String

    /// Creates `base/repo` with `git init` (branch main), or an empty folder when `initialize` is false.
    init(bare: Bool = false, initialize: Bool = true) throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/trueup-git-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw FixtureError("mkdtemp failed") }
        // Resolve symlinks (macOS /var -> /private/var) so paths compare equal to libgit2's.
        base = URL(fileURLWithPath: String(cString: created)).resolvingSymlinksInPath().path
        path = base + "/repo"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        if initialize {
            try git(bare ? ["init", "--bare", "-b", "main", "."] : ["init", "-b", "main", "."])
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: base)
    }

    /// Runs git in `directory` (default: the main repository) and returns its trimmed stdout.
    @discardableResult
    func git(_ arguments: [String], in directory: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-c", "protocol.file.allow=always"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? path)
        process.environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": base,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_AUTHOR_NAME": "Ada Lovelace",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Lovelace",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(
                "git \(arguments.joined(separator: " ")) failed: \(String(decoding: stderr, as: UTF8.self))"
            )
        }
        return String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        try git(arguments)
    }

    /// Writes `contents` to `relativePath` in the working tree, creating folders as needed.
    func write(_ relativePath: String, _ contents: String, executable: Bool = false) throws {
        let file = path + "/" + relativePath
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true
        )
        try Data(contents.utf8).write(to: URL(fileURLWithPath: file))
        if executable {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file)
        }
    }

    func symlink(_ relativePath: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path + "/" + relativePath, withDestinationPath: target)
    }

    func remove(_ relativePath: String) throws {
        try FileManager.default.removeItem(atPath: path + "/" + relativePath)
    }

    /// Stages everything and commits; returns the new commit's full sha.
    @discardableResult
    func commitAll(_ message: String, date: String = "2024-01-02T03:04:05Z") throws -> String {
        try git("add", "-A")
        try git(["-c", "core.hooksPath=/dev/null", "commit", "-q", "--allow-empty", "-m", message, "--date", date])
        return try git("rev-parse", "HEAD")
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
