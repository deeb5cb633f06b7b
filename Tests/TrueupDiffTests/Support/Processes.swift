import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files of the source tree these tests read: the example environments, the schema, the goldens.
enum SourceTree {
    /// The package root: this file is Tests/TrueupDiffTests/Support/Processes.swift.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let testFolder = root.appendingPathComponent("Tests/TrueupDiffTests")
    static let schema = root.appendingPathComponent("schemas/diff-report.schema.json")
    static let python = root.appendingPathComponent(".venv/bin/python")
}

/// The `trueup` executable under test: `TRUEUP_BINARY`, else the one SwiftPM built beside the test
/// bundle (the test target depends on the executable target), else `.build/debug/trueup` found by
/// walking up from the test bundle or from the package root.
enum TrueupBinary {
    static let path: String = {
        let fm = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["TRUEUP_BINARY"], !explicit.isEmpty { return explicit }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if fm.isExecutableFile(atPath: folder.appendingPathComponent("trueup").path) {
            return folder.appendingPathComponent("trueup").path
        }
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent(".build/debug/trueup").path
            if fm.isExecutableFile(atPath: candidate) { return candidate }
            folder.deleteLastPathComponent()
        }
        return SourceTree.root.appendingPathComponent(".build/debug/trueup").path
    }()
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What a finished process printed and how it exited.
struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    var all: String { stdout + stderr }
}

/// Runs `arguments` (the first being a path or a name found on PATH through /usr/bin/env) with
/// exactly `environment`, in `directory`. Output goes through files, not pipes: a long-lived
/// grandchild that inherits the descriptors cannot make the wait hang.
///
/// Waits on a thread of its own, never on the concurrency pool: these suites run `trueup apply`
/// and `trueup diff` for minutes in all, and a pool thread blocked that long is one of the two a
/// CI machine has, taken from every other suite's timed polls.
func runProcess(_ arguments: [String], in directory: String, environment: [String: String], scratch: String) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try runProcessBlocking(arguments, in: directory, environment: environment, scratch: scratch) })
        }.start()
    }
}

/// The same, waiting on the calling thread: only for a fixture's clean-up, which cannot be async.
func runProcessBlocking(_ arguments: [String], in directory: String, environment: [String: String], scratch: String) throws -> ProcessResult {
    let fm = FileManager.default
    let id = UUID().uuidString
    let outPath = scratch + "/out-\(id)", errPath = scratch + "/err-\(id)"
    guard fm.createFile(atPath: outPath, contents: nil), fm.createFile(atPath: errPath, contents: nil),
          let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
        throw TestFailure("cannot create output files in \(scratch)")
    }
    defer {
        try? fm.removeItem(atPath: outPath)
        try? fm.removeItem(atPath: errPath)
    }
    let process = Process()
    if arguments[0].hasPrefix("/") {
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
    }
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
        stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
}

/// /proc/<pid>/stat: the start time (field 22) and whether the process still runs (not a zombie).
func processStatus(_ pid: Int32) -> (startTime: UInt64, running: Bool)? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    // After the command name in parentheses: field 3 (state) onwards.
    let rest = stat[stat.index(after: close)...].split(separator: " ")
    guard rest.count >= 20, let start = UInt64(rest[19]) else { return nil }
    return (start, rest[0] != "Z" && rest[0] != "X")
}

/// Stops one process that a test's `trueup apply` started, only if `pid` still names that very
/// process (same start time): SIGTERM, then SIGKILL if it has not gone after a grace period.
func stopProcess(pid: Int32, startTime: UInt64) {
    guard let status = processStatus(pid), status.startTime == startTime, status.running else { return }
    kill(pid, SIGTERM)
    for _ in 0..<200 {
        guard let now = processStatus(pid), now.startTime == startTime, now.running else { return }
        usleep(50_000)
    }
    if let now = processStatus(pid), now.startTime == startTime, now.running { kill(pid, SIGKILL) }
}
