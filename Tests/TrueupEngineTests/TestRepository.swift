import Foundation
import TrueupCore
import TrueupEngine

/// A real git repository in a fresh temporary folder, built with the `git` command line and read
/// back by trueup (libgit2) exactly as a user's clone would be.
///
/// Global and system git configuration are ignored so the machine's settings cannot change results.
final class TestRepository {
    /// The working tree; the folder is removed when the repository is released.
    let path: String
    private let base: String

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/trueup-spec-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw TestRepositoryError("mkdtemp failed") }
        // Resolve symlinks (macOS /var -> /private/var) so paths compare equal to libgit2's.
        base = URL(fileURLWithPath: String(cString: created)).resolvingSymlinksInPath().path
        path = base + "/repo"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try git("init", "-q", "-b", "main", ".")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: base)
    }

    /// Runs git in the working tree and returns its trimmed standard output.
    @discardableResult
    func git(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "core.hooksPath=/dev/null"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: path)
        process.environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": base,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
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
            throw TestRepositoryError("git \(arguments.joined(separator: " ")) failed: \(String(decoding: stderr, as: UTF8.self))")
        }
        return String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes `contents` at `relativePath` in the working tree, creating folders as needed.
    func write(_ relativePath: String, _ contents: String) throws {
        try write(relativePath, bytes: Array(contents.utf8))
    }

    func write(_ relativePath: String, bytes: [UInt8]) throws {
        let file = path + "/" + relativePath
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
    }

    func read(_ relativePath: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path + "/" + relativePath))
    }

    func symlink(_ relativePath: String, to target: String) throws {
        let link = path + "/" + relativePath
        try FileManager.default.createDirectory(
            atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    }

    func remove(_ relativePath: String) throws {
        try FileManager.default.removeItem(atPath: path + "/" + relativePath)
    }

    /// Copies every file below `folder` (a real folder on disk) into the working tree at `into`.
    func copy(from folder: URL, into destination: String = "", skipping skipped: Set<String> = []) throws {
        let root = folder.resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw TestRepositoryError("cannot list \(root)")
        }
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory)
            if isDirectory.boolValue || skipped.contains(relative) { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative))
            try write(destination.isEmpty ? relative : destination + "/" + relative, bytes: [UInt8](data))
        }
    }

    /// Stages everything and commits; returns the new commit's full id.
    @discardableResult
    func commit(_ message: String = "change") throws -> String {
        try git("add", "-A")
        try git("commit", "-q", "--allow-empty", "-m", message)
        return try git("rev-parse", "HEAD")
    }

    /// Loads and validates the specs the way `trueup validate` does.
    func load(revision: String = "HEAD", worktree: Bool = false, only environment: String? = nil,
              keeping: DesiredStateBuilder.Keeping = .everything) throws -> DesiredState {
        try SpecLoader().load(SpecSource(repositoryPath: path, revision: revision, worktree: worktree), only: environment, keeping: keeping)
    }

    /// The lines `trueup validate` prints for this repository.
    func validationLines(revision: String = "HEAD", worktree: Bool = false, only environment: String? = nil) throws -> [String] {
        try load(revision: revision, worktree: worktree, only: environment).diagnostics.map(\.description)
    }
}

struct TestRepositoryError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The checkout this test file belongs to: the repository's own `environments/`, `examples/` and
/// `schemas/` are test inputs too.
enum SourceTree {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
}
