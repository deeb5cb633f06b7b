import ArgumentParser
import Foundation
import TrueupCore
import TrueupEngine
import TrueupGit
import TrueupStore

struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Check an environment's notification receivers (spec.notify).",
        subcommands: [NotifyTestCommand.self]
    )
}

struct NotifyTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Send a test event to every receiver of an environment and print each answer.",
        discussion: "github and gitlab receivers read the repository or project (nothing is written to it); webhook and slack receivers get an event `test`. Exit 1 when any receiver could not be reached."
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .long, help: "The environment whose receivers to test.")
    var env: String

    @Option(name: .long, help: "The revision whose environment.yaml to read.")
    var rev: String = "HEAD"

    func run() async throws {
        let failures = try await reportingErrors { () -> Int in
            let workspace = try repository.workspace()
            let snapshot = try GitRepository(path: workspace.repositoryRoot).snapshot(at: rev)
            let desired = try Reconciler(workspace: workspace).loadDesiredState(snapshot)
            guard let environment = desired.environments[env] else {
                throw EngineError("no valid environment named '\(env)' at \(snapshot.revision.shortCommit): run `trueup validate\(repository.hintFlags)`")
            }
            let settings = environment.settings
            guard !settings.notify.isEmpty else {
                note("\(env) has no receivers: add them under spec.notify in \(workspace.specRoot)/\(env)/environment.yaml")
                return 0
            }
            let variables = ProcessInfo.processInfo.environment
            var failures = 0
            // A receiver whose secret is unset is reported here rather than warned about.
            let recorder = NotificationRecorder(environmentVariables: variables, warn: { _ in })
            var entries: [OutboxEntry] = []
            for receiver in settings.notify {
                var only = settings
                only.notify = [receiver]
                let made = recorder.entries(.init(event: .test, revision: snapshot.revision, summary: "test event from trueup notify test for \(env)"),
                                            settings: only, at: Date().timeIntervalSince1970)
                if made.isEmpty {
                    let missing = [receiver.tokenFromEnv, receiver.urlFromEnv, receiver.secretFromEnv].compactMap { $0 }.filter { (variables[$0] ?? "").isEmpty }
                    print("✗ \(receiver.name) (\(receiver.type.rawValue)): not sent: \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") not set")
                    failures += 1
                }
                entries += made
            }
            let store = workspace.store
            try store.recordNotifications(entries, at: Date().timeIntervalSince1970)
            let sender = NotificationSender(store: store)
            let ids = Set(entries.map(\.deliveryID))
            // One attempt each: a test is about the answer now, not delivery later.
            let attempts = await sender.deliverDue().filter { ids.contains($0.deliveryID) }
            for attempt in attempts {
                let type = entries.first { $0.deliveryID == attempt.deliveryID }?.receiverType ?? ""
                if attempt.result == .delivered {
                    print("✓ \(attempt.receiver) (\(type)): accepted")
                } else {
                    print("✗ \(attempt.receiver) (\(type)): \(attempt.error ?? "not delivered")")
                    failures += 1
                }
            }
            for row in try store.pendingNotifications() where ids.contains(row.entry.deliveryID) {
                try store.markFailed(row.id, attempts: row.attempts, error: "test event: not retried", at: Date().timeIntervalSince1970)
            }
            return failures
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
