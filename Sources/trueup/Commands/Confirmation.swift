import Foundation
import TrueupEngine

/// The question `apply` and `destroy` ask before they change anything: only a typed `yes` goes
/// on, and without a terminal to ask on, nothing is changed unless `--yes` was given.
enum Confirmation {
    /// Throws unless the user typed `yes` at `question`. `withoutTerminal` is the error when
    /// standard input is not a terminal.
    static func ask(_ question: String, withoutTerminal: String, cancelled: String) throws {
        guard isatty(STDIN_FILENO) != 0 else { throw EngineError(withoutTerminal) }
        // The plan must be on screen before the question, even when stdout is a pipe
        // (fflush(nil) flushes every stream; naming `stdout` is not concurrency-safe).
        fflush(nil)
        FileHandle.standardError.write(Data("\(question) Only 'yes' is accepted: ".utf8))
        guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else { throw EngineError(cancelled) }
    }
}
