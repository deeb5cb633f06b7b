import ArgumentParser
import Foundation
import TrueupEngine

extension RepositoryOptions {
    func workspace() throws -> Workspace {
        try Workspace(repositoryPath: repo, specRoot: path, stateDirectory: stateDir)
    }
}

/// Prints to standard error: progress and summaries, keeping standard output for the result.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes a command's result to standard output as one buffer. `print` hands a large string to
/// the C stream piece by piece: 20 ms for the 6 MB plan of 33,000 resources, against one write.
/// Only for a command's single result: what was printed before may still sit in the C stream's
/// buffer. A closed pipe (`| head`) ends the output, as with `print`.
func writeResult(_ text: String) {
    try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
}

/// Runs `body`, turning engine errors into one clear line and exit code 1.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        note("error: \(error)")
        throw ExitCode(1)
    }
}

enum Terminal {
    static var isInteractive: Bool { isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb" }

    static func color(_ text: String, _ code: String) -> String {
        isInteractive && ProcessInfo.processInfo.environment["NO_COLOR"] == nil ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
