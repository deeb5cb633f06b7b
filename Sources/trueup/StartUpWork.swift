import Foundation
import TrueupCore
import TrueupGit

/// Set-up that nearly every command needs and that depends on nothing the user typed: libgit2's
/// and compiling the built-in schemas. Done on a thread of its own while the process starts and
/// parses its arguments, instead of in line on first use.
///
/// The process must not exit while it runs (libgit2 and the runtime are then torn down under
/// it: that crashed about one `trueup --version` in 300), so `main` waits for it on every way
/// out.
final class StartUpWork: Sendable {
    private let finished = DispatchSemaphore(value: 0)

    static func start(arguments: [String] = CommandLine.arguments) -> StartUpWork {
        let work = StartUpWork()
        // Printing the version or help needs neither.
        if arguments.count <= 1 || arguments.contains(where: { ["--version", "--help", "-h", "help"].contains($0) }) {
            work.finished.signal()
            return work
        }
        Thread.detachNewThread {
            GitLibrary.initialize()
            _ = SchemaCatalog.shared
            work.finished.signal()
        }
        return work
    }

    /// Waits until the set-up is done. The signal is given back, so waiting again returns at once.
    /// (A command that needs libgit2 or the schemas sooner does not wait here: their one-time
    /// initialisers make it wait for the set-up thread instead.)
    func waitUntilFinished() {
        finished.wait()
        finished.signal()
    }
}
