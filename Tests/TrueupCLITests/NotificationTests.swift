import Foundation
import GRDB
import Testing
import TrueupTestSupport

/// `spec.notify` end to end: the example applied through the real binary, its events received by
/// a recording HTTP receiver on 127.0.0.1 standing in for GitHub, a webhook and Slack.
@Suite("notifications, end to end", .serialized, .timeLimit(.minutes(15)))
struct NotificationTests {
    static let canary = "ghp_CANARY_e2e_4b1d_never_print_me"
    static let slackSecretPath = "/services/T0CANARY/B0CANARY/slackcanarysecret"
    static let secret = "webhook-secret-canary-93e1"

    /// The example with dev's events going to `receiver` as github, webhook (signed) and slack.
    static func fixture(_ receiver: RecordingReceiver) async throws -> Fixture {
        let fixture = try await Fixture()
        fixture.environmentOverrides = ["GITHUB_TOKEN": canary, "ALERT_SECRET": secret, "SLACK_URL": receiver.url + slackSecretPath]
        try fixture.edit("environments/dev/environment.yaml") {
            $0 + """
              notify:
                - {name: github, type: github, repository: acme/ml-platform, tokenFromEnv: GITHUB_TOKEN, url: "\(receiver.url)"}
                - {name: oncall, type: webhook, url: "\(receiver.url)/hooks/trueup", secretFromEnv: ALERT_SECRET}
                - {name: team, type: slack, urlFromEnv: SLACK_URL, events: [succeeded, failed]}

            """
        }
        try await fixture.commit("dev reports to GitHub, a webhook and Slack")
        return fixture
    }

    static func webhookEvents(_ receiver: RecordingReceiver) -> [[String: Any]] {
        receiver.requests.filter { $0.path == "/hooks/trueup" }.map(\.json)
    }

    @Test("an apply posts pending then success on the applied commit, a deployment with in_progress then success, a signed webhook event and a Slack message; no secret appears anywhere")
    func applyReportsBack() async throws {
        let receiver = try RecordingReceiver()
        let fixture = try await Self.fixture(receiver)
        defer { fixture.stopEverything() }
        let sha = try await fixture.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)

        let apply = try await fixture.apply()
        let requests = receiver.requests
        let github = requests.filter { $0.path.hasPrefix("/repos/") }
        #expect(github.map { "\($0.method) \($0.path) \($0.json["state"] as? String ?? "-")" } == [
            "POST /repos/acme/ml-platform/statuses/\(sha) pending",
            "POST /repos/acme/ml-platform/deployments -",
            "POST /repos/acme/ml-platform/deployments/1001/statuses in_progress",
            "POST /repos/acme/ml-platform/statuses/\(sha) success",
            "POST /repos/acme/ml-platform/deployments/1001/statuses success",
        ], "\(requests.map { "\($0.method) \($0.path) \($0.body)" })")
        #expect(github.allSatisfy { $0.header("Authorization") == "Bearer \(Self.canary)" && $0.header("Accept") == "application/vnd.github+json" })
        #expect(github.filter { $0.path.contains("/statuses/\(sha)") }.allSatisfy { $0.json["context"] as? String == "trueup/dev" })
        #expect(github.compactMap { $0.json["description"] as? String }.allSatisfy { $0.count <= 140 })
        #expect(github[1].json["ref"] as? String == sha && github[1].json["environment"] as? String == "dev")

        let events = Self.webhookEvents(receiver)
        #expect(events.map { $0["event"] as? String } == ["started", "succeeded"], "\(events)")
        let succeeded = try #require(events.last)
        #expect((succeeded["revision"] as? [String: Any])?["commit"] as? String == sha)
        #expect((succeeded["summary"] as? String)?.hasPrefix("applied dev at \(sha.prefix(12))") == true, "\(succeeded)")
        let slack = requests.filter { $0.path == Self.slackSecretPath }
        #expect(slack.count == 1 && (slack.first?.json["text"] as? String)?.contains("trueup/dev") == true, "\(slack.map(\.body))")

        // The signature, verified with Python's hmac module as a receiver would.
        let verify = try await ChildProcess(["python3", Fixture.packageRoot + "/Tests/Fixtures/notifications/verify_signature.py", receiver.record],
                                      in: fixture.base, environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "TRUEUP_TEST_SECRET": Self.secret],
                                      logs: fixture.logs).wait(timeout: 60)
        #expect(verify.status == 0 && verify.stdout.components(separatedBy: "ok ").count == 3, "\(verify)")

        // Everything delivered: status has no notification lines; notify test reaches all three.
        let status = try await fixture.trueup("status", "--env", "dev")
        #expect(!status.stdout.contains("notifications to"), "\(status)")
        let test = try await fixture.trueup("notify", "test", "--env", "dev")
        #expect(test.status == 0 && test.stdout.contains("✓ github (github): accepted") && test.stdout.contains("✓ oncall (webhook): accepted")
                && test.stdout.contains("✓ team (slack): accepted"), "\(test)")
        #expect(receiver.requests.contains { $0.method == "GET" && $0.path == "/repos/acme/ml-platform" })

        // The canary token, the webhook secret and the Slack URL's secret part: nowhere but on the wire.
        let history = try await fixture.trueup("history", "--env", "dev")
        let logs = try await fixture.trueup("logs", "1")
        let printed = [apply, status, test, history, logs].map(\.output).joined()
        for secret in [Self.canary, Self.secret, "slackcanarysecret"] {
            #expect(!printed.contains(secret), "\(secret) printed")
            for folder in [fixture.stateDirectory, fixture.logs] {
                for case let file as String in FileManager.default.enumerator(atPath: folder)?.allObjects ?? [] {
                    guard let data = FileManager.default.contents(atPath: folder + "/" + file) else { continue }
                    #expect(data.range(of: Data(secret.utf8)) == nil, "\(secret) found in \(folder)/\(file)")
                }
            }
        }
    }

    @Test("a failed gate sends failure and gate-failed with its metrics against the thresholds; a failing job's event names it, its error and the logs command")
    func failuresSayWhatFailed() async throws {
        let receiver = try RecordingReceiver()
        let fixture = try await Self.fixture(receiver)
        defer { fixture.stopEverything() }
        try fixture.edit("environments/base/churn/model.yaml") { $0.replacingOccurrences(of: "auc: \">= 0.75\"", with: "auc: \">= 0.999\"") }
        let sha = try await fixture.commit("an unreachable gate")

        let gated = try await fixture.trueup("apply", "--env", "dev", "--yes")
        #expect(gated.status == 1, "\(gated)")
        var events = Self.webhookEvents(receiver)
        #expect(events.map { $0["event"] as? String } == ["started", "failed", "gate-failed"], "\(events)")
        let gate = try #require((events.last?["gates"] as? [[String: Any]])?.first, "\(events)")
        #expect(gate["job"] as? String == "evaluate-churn" && gate["asset"] as? String == "Model/churn-classifier", "\(gate)")
        let auc = try #require((gate["metrics"] as? [[String: Any]])?.first { $0["name"] as? String == "auc" }, "\(gate)")
        #expect(auc["threshold"] as? String == ">= 0.999" && auc["met"] as? Bool == false && auc["value"] is Double, "\(auc)")
        let failed = events[1]
        let run = try #require(failed["run"] as? Int)
        #expect(failed["logsCommand"] as? String == "trueup logs \(run)")
        let failedAction = try #require((failed["actions"] as? [[String: Any]])?.first { $0["status"] as? String == "failed" }, "\(failed)")
        #expect(failedAction["resource"] as? String == "Model/churn-classifier" && failedAction["logs"] as? String == "trueup logs \(run)", "\(failedAction)")
        let statuses = receiver.requests.filter { $0.path == "/repos/acme/ml-platform/statuses/\(sha.trimmingCharacters(in: .whitespacesAndNewlines))" }
        #expect(statuses.map { $0.json["state"] as? String } == ["pending", "failure"], "\(statuses.map(\.body))")

        // Now a job that fails outright.
        try fixture.edit("environments/base/churn/model.yaml") { $0.replacingOccurrences(of: "auc: \">= 0.999\"", with: "auc: \">= 0.75\"") }
        try fixture.edit("examples/churn/train.py") { $0.replacingOccurrences(of: "    args = parse_args()\n", with: "    args = parse_args()\n    raise SystemExit('training data is unusable')\n") }
        try await fixture.commit("training breaks")
        let broken = try await fixture.trueup("apply", "--env", "dev", "--yes")
        #expect(broken.status == 1, "\(broken)")
        events = Self.webhookEvents(receiver)
        let last = try #require(events.last { $0["event"] as? String == "failed" })
        let train = try #require((last["actions"] as? [[String: Any]])?.first { $0["resource"] as? String == "Job/train-churn" }, "\(last)")
        #expect(train["status"] as? String == "failed" && (train["error"] as? String)?.isEmpty == false, "\(train)")
        #expect(train["logs"] as? String == "trueup logs \(last["run"] as? Int ?? -1)", "\(train)")
        #expect((last["summary"] as? String)?.contains("Job/train-churn failed") == true, "\(last)")
    }

    @Test("with the token unset, trueup warns once and applies; with --no-notify nothing is recorded")
    func unsetTokenWarnsOnce() async throws {
        let receiver = try RecordingReceiver()
        let fixture = try await Self.fixture(receiver)
        defer { fixture.stopEverything() }
        fixture.environmentOverrides = ["ALERT_SECRET": Self.secret, "SLACK_URL": receiver.url + Self.slackSecretPath]
        let apply = try await fixture.apply()
        let warnings = apply.stderr.components(separatedBy: "receiver github (github) of dev is skipped: the environment variable GITHUB_TOKEN is not set").count - 1
        #expect(warnings == 1, "\(apply)")
        #expect(!receiver.requests.contains { $0.path.hasPrefix("/repos/") })
        #expect(Self.webhookEvents(receiver).count == 2)

        try fixture.edit("environments/dev/environment.yaml") { $0.replacingOccurrences(of: "epochs: 50", with: "epochs: 60") }
        try await fixture.commit("train longer")
        let quiet = try await fixture.trueup("apply", "--env", "dev", "--yes", "--no-notify")
        #expect(quiet.status == 0 && !quiet.stderr.contains("GITHUB_TOKEN"), "\(quiet)")
        #expect(Self.webhookEvents(receiver).count == 2, "--no-notify sent nothing")
        let rows = try await fixture.database().read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notification_outbox") }
        #expect(rows == 3, "only the first apply's events were recorded: the webhook's started and succeeded, Slack's succeeded")
    }
}
