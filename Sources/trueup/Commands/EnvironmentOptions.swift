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
