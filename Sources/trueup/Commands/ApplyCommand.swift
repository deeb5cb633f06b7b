import ArgumentParser
import Foundation
import Synchronization
import TrueupCore
import TrueupEngine
import TrueupStore

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make an environment match git: run jobs, register and gate versions, move aliases, deploy.",
        discussion: "Either `apply --env E [--rev R] --yes` or `apply plan.json` (refused when stale)."
    )

    @OptionGroup var repository: RepositoryOptions

    @Argument(help: "A plan saved with `trueup plan -o FILE`.")
    var planFile: String?

    @Option(name: .long, help: "The environment to apply.")
    var env: String?

    @Option(name: .long, help: "The revision to apply.")
    var rev: String = "HEAD"

    @Flag(name: .long, help: "Apply without asking.")
    var yes = false

    @Option(name: .customLong("lock-timeout"), help: "Seconds to wait when another apply holds the environment.")
    var lockTimeout: Double = 0

    @Flag(name: .customLong("no-notify"), help: "Record and send no notifications (spec.notify) for this apply.")
    var noNotify = false

    @Option(name: .customLong("notify-wait"), help: "Seconds to spend delivering notifications before exiting; what is left is sent by the next trueup process.")
    var notifyWait: Double = 5

    func validate() throws {
        if planFile == nil && env == nil { throw ValidationError("say what to apply: --env ENV, or a saved plan file") }
        if planFile != nil && env != nil { throw ValidationError("give either --env or a plan file, not both: a saved plan names its environment") }
    }

    func run() async throws {
        let workspace = try await reportingErrors { try repository.workspace() }
        // Events go out while the apply runs (`started` when it starts), beside it, never inside it.
        let applying = StillRunning()
        let sending = noNotify ? nil : Task { [notifyWait] in
            await notificationSender(workspace.store).run(interval: 0.5, timeout: notifyWait, while: { applying.isSet })
        }
        let result: ApplyResult
        do {
            result = try await self.applying(workspace)
        } catch {
            applying.clear()
            await sending?.value
            await flushNotifications(workspace.store)
            throw error
        }
        applying.clear()
        await sending?.value
        if result.runID != 0 {
            if result.succeeded {
                note(Terminal.color("Applied \(result.plan.environment) at \(result.plan.commit.prefix(12)): \(PlanRenderer.summary(result.plan)) (run \(result.runID))", "32"))
            } else {
                note(Terminal.color("Apply of \(result.plan.environment) finished with \(result.failures.count) failed and \(result.skipped.count) not applied (run \(result.runID)): `trueup logs \(result.runID)\(repository.hintFlags)` shows why", "31"))
            }
        }
        await flushNotifications(workspace.store)
        if result.runID != 0 && !result.succeeded { throw ExitCode(1) }
    }

    func applying(_ workspace: Workspace) async throws -> ApplyResult {
        try await reportingErrors { () -> ApplyResult in
            let reconciler = Reconciler(workspace: workspace, notifications: noNotify ? .disabled : NotificationRecorder())
            var saved: Plan?
            var name = env ?? ""
            if let planFile {
                guard let data = FileManager.default.contents(atPath: planFile) else {
                    throw EngineError("cannot read \(planFile): check the path")
                }
                saved = try PlanJSON.decode(data, file: planFile)
                if saved!.commit == "worktree" {
                    throw EngineError("\(planFile) was planned from the working tree (--worktree): only committed specs are applied; commit them, then `trueup plan --env \(saved!.environment)\(repository.hintFlags) -o \(planFile)` and apply that")
                }
                name = saved!.environment
            } else if !yes {
                // What runs is what was shown: the confirmed plan itself is applied, refused if
                // the actual state moved while the prompt waited; a commit pushed meanwhile stays
                // pending for the next plan.
                let preview = try await reconciler.plan(environment: name, revision: rev)
                print(PlanRenderer.text(preview.plan), terminator: "")
                guard preview.plan.hasChanges else { return ApplyResult(runID: 0, plan: preview.plan, failures: [:], skipped: [:]) }
                try Confirmation.ask("Apply these changes to \(name) at \(preview.plan.commit.prefix(12))?",
                                     withoutTerminal: "refusing to apply without confirmation: pass --yes, or apply a saved plan",
                                     cancelled: "apply cancelled")
                return try await reconciler.apply(preview, lockWait: lockTimeout, progress: Self.printProgress)
            }
            return try await reconciler.apply(environment: name, revision: rev, saved: saved, lockWait: lockTimeout, progress: Self.printProgress)
        }
    }

    /// Sends what this apply (and any earlier process) left in the outbox, for at most
    /// `--notify-wait` seconds: a dead receiver delays the exit by that much, never more.
    func flushNotifications(_ store: StateStore) async {
        guard !noNotify, notifyWait > 0 else { return }
        _ = await notificationSender(store).flush(within: notifyWait)
    }

    func notificationSender(_ store: StateStore) -> NotificationSender {
        NotificationSender(store: store, onAttempt: { attempt in
            if attempt.result != .delivered, let error = attempt.error {
                note("  notification \(attempt.event) to \(attempt.receiver) of \(attempt.environment) \(attempt.result == .failed ? "failed" : "will be retried"): \(error)")
            }
        })
    }

    @Sendable static func printProgress(_ event: ApplyEvent) {
        switch event {
        case .started(let id, let action):
            note("  \(PlanRenderer.symbol(action)) \(id)  \(action.rawValue)...")
        case .succeeded(let id, let action, let seconds, let detail):
            note(Terminal.color("  ✓ \(id)  \(action.rawValue) done in \(String(format: "%.1f", seconds))s\(detail.map { ": \($0)" } ?? "")", "32"))
        case .failed(let id, _, let error):
            note(Terminal.color("  ✗ \(id)  failed: \(error)", "31"))
        case .skipped(let id, let reason):
            note(Terminal.color("  - \(id)  not applied: \(reason)", "33"))
        case .note(let text):
            note("  \(text)")
        }
    }
}

/// Whether the apply still runs: cleared by the command, read by the sender beside it.
final class StillRunning: Sendable {
    private let value = Mutex(true)
    var isSet: Bool { value.withLock { $0 } }
    func clear() { value.withLock { $0 = false } }
}
