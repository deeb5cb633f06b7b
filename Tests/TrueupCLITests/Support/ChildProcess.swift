import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a finished command ended, with everything it printed.
struct CommandResult: CustomStringConvertible {
    var command: [String]
    /// The exit code, or 128 + n when signal n ended it.
    var status: Int32
    var stdout: String
    var stderr: String

    /// Both streams, for assertions that do not care where a message went.
    var output: String { stdout + stderr }

    var description: String {
        "\(command.joined(separator: " ")) -> exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)---"
    }
}

struct CommandTimedOut: Error, CustomStringConvertible {
    var command: [String]
    var seconds: Double
    var description: String { "\(command.joined(separator: " ")) still ran after \(Int(seconds)) s: killed it" }
}

/// A real child process whose standard output and error go to files (no pipe can fill up and
/// block it), waited for by polling so a test never hangs: past its deadline it is killed.
final class ChildProcess {
    let command: [String]
    private let process = Process()
    private let stdoutPath: String
    private let stderrPath: String

    /// Starts `command` (looked up on PATH through /usr/bin/env) in `directory`.
    /// `standardInput` is what the process reads (nothing, unless given: a terminal, say).
    init(_ command: [String], in directory: String, environment: [String: String], logs: String, standardInput: FileHandle? = nil) throws {
        self.command = command
        let id = UUID().uuidString.prefix(8)
        stdoutPath = (logs as NSString).appendingPathComponent("\(id).out")
        stderrPath = (logs as NSString).appendingPathComponent("\(id).err")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment
        process.standardInput = standardInput ?? FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// What it printed so far.
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// `kill -9`: no chance to clean up, exactly like a crash or an OOM kill.
    func killHard() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits for the process to end; kills it and throws after `timeout` seconds.
    func wait(timeout: Double = Fixture.commandTimeout) async throws -> CommandResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                killHard()
                process.waitUntilExit()
                throw CommandTimedOut(command: command, seconds: timeout)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CommandResult(command: command, status: status, stdout: stdout, stderr: stderr)
    }
}

/// Polls `condition` until it holds; false when `timeout` seconds passed first. For waiting on
/// other processes, never for asserting how long something took.
func eventually(timeout: Double = 120, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() > deadline { return false }
        try await Task.sleep(for: .milliseconds(50))
    }
}
