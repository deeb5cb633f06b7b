import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A trueup process whose standard input is a pseudo-terminal, so that `apply` without `--yes`
/// shows its plan and waits at the prompt exactly as it does for a person; the test answers
/// through the terminal's other end. Output goes to files, as for `ChildProcess`.
final class PromptedProcess {
    private let child: ChildProcess
    private let controller: Int32

    init(_ command: [String], in directory: String, environment: [String: String], logs: String) throws {
        let controller = PseudoTerminalCalls.open(O_RDWR | O_NOCTTY)
        guard controller >= 0, PseudoTerminalCalls.grant(controller) == 0, PseudoTerminalCalls.unlock(controller) == 0,
              let name = PseudoTerminalCalls.name(controller) else {
            throw FixtureError("cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        self.controller = controller
        let terminalDescriptor = open(name, O_RDWR | O_NOCTTY)
        guard terminalDescriptor >= 0 else { throw FixtureError("cannot open \(String(cString: name)): \(String(cString: strerror(errno)))") }
        let terminal = FileHandle(fileDescriptor: terminalDescriptor, closeOnDealloc: true)
        child = try ChildProcess(command, in: directory, environment: environment, logs: logs, standardInput: terminal)
    }

    deinit {
        child.killHard()
        close(controller)
    }

    var stdout: String { child.stdout }
    var stderr: String { child.stderr }

    /// Waits until the process asks its question (its standard error contains `prompt`).
    func waitForPrompt(_ prompt: String, timeout: Double = 120) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !stderr.contains(prompt) {
            guard child.isRunning else { throw FixtureError("\(child.command.joined(separator: " ")) ended before asking:\n\(stdout)\n\(stderr)") }
            guard Date() < deadline else { throw FixtureError("no prompt after \(Int(timeout)) s:\n\(stdout)\n\(stderr)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Types `line` and Enter at the terminal.
    func answer(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(controller, $0.baseAddress, $0.count) }
    }

    func wait(timeout: Double = Fixture.commandTimeout) async throws -> CommandResult {
        try await child.wait(timeout: timeout)
    }
}

/// posix_openpt, grantpt, unlockpt and ptsname: in glibc, but hidden from Swift's Glibc module
/// (declared only under _XOPEN_SOURCE), so looked up by name.
private enum PseudoTerminalCalls {
    typealias Open = @convention(c) (Int32) -> Int32
    typealias Call = @convention(c) (Int32) -> Int32
    typealias Name = @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?

    private static func symbol<T>(_ name: String, as type: T.Type) -> T {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("glibc has no \(name)") }
        return unsafeBitCast(address, to: type)
    }

    static func open(_ flags: Int32) -> Int32 { symbol("posix_openpt", as: Open.self)(flags) }
    static func grant(_ fd: Int32) -> Int32 { symbol("grantpt", as: Call.self)(fd) }
    static func unlock(_ fd: Int32) -> Int32 { symbol("unlockpt", as: Call.self)(fd) }
    static func name(_ fd: Int32) -> UnsafeMutablePointer<CChar>? { symbol("ptsname", as: Name.self)(fd) }
}

extension Fixture {
    /// `trueup ARGS` with its standard input on a terminal, waiting at its prompt.
    func startPrompted(_ arguments: String...) throws -> PromptedProcess {
        try PromptedProcess([Self.binary] + arguments + ["--repo", repo, "--state-dir", stateDirectory],
                            in: repo, environment: trueupEnvironment, logs: logs)
    }
}
