import Foundation
import Testing
import TrueupTestSupport
import TrueupBackends
import TrueupStore

/// The controller's notifications, through the real process, to a recording receiver on
/// 127.0.0.1 standing in for GitHub and a webhook.
@Suite("controller notifications", .serialized, .timeLimit(.minutes(10)))
struct ControllerNotificationTests {
    static let token = "ghp_CANARY_controller_0c7e_never_print_me"

    static func notify(_ receiver: RecordingReceiver) -> String {
        """

          notify:
            - {name: github, type: github, repository: acme/ml-platform, tokenFromEnv: GITHUB_TOKEN, url: "\(receiver.url)"}
            - {name: oncall, type: webhook, url: "\(receiver.url)/hooks/trueup"}
        """
    }

    static func events(_ receiver: RecordingReceiver, _ environment: String) -> [[String: Any]] {
        receiver.requests.filter { $0.path == "/hooks/trueup" }.map(\.json).filter { $0["environment"] as? String == environment }
    }

    @Test("an apply by the controller posts pending then success and a deployment; a manual environment sends pending once per commit; drift found by every scheduled reconcile is sent once; /metrics counts deliveries")
    func controllerReportsBack() async throws {
        let receiver = try RecordingReceiver()
        let fixture = try await ControllerFixture()
        try fixture.write("environments/dev/environment.yaml", ControllerFixture.environment("dev", sync: "auto") + Self.notify(receiver))
        // Reconciled every second: each reconcile sees the same pending commit, the same drift.
        try fixture.write("environments/staging/environment.yaml", ControllerFixture.environment("staging", sync: "manual", interval: "1s") + Self.notify(receiver))
        try fixture.write("environments/qa/environment.yaml", ControllerFixture.environment("qa", sync: "auto", interval: "1s")
            .replacingOccurrences(of: "selfHeal: true", with: "selfHeal: false") + Self.notify(receiver))
        let head = try await fixture.commitAndPush("environments report to GitHub and a webhook")
        let controller = try fixture.startController(arguments: ["--poll", "1s", "--public-url", "https://trueup.example.com"],
                                                     environment: ["GITHUB_TOKEN": Self.token, "TRUEUP_NOTIFY_RETRY_DELAY": "0.2"])
        try await controller.waitUntilApplied("dev", head)
        try await controller.waitUntilApplied("qa", head)

        let devStatuses = { receiver.requests.filter { $0.path == "/repos/acme/ml-platform/statuses/\(head)" && $0.json["context"] as? String == "trueup/dev" } }
        #expect(try await eventually(timeout: 30) { devStatuses().count == 2 }, "\(receiver.requests.map(\.path))")
        #expect(devStatuses().map { $0.json["state"] as? String } == ["pending", "success"])
        let deployments = receiver.requests.filter { $0.path == "/repos/acme/ml-platform/deployments" && $0.json["environment"] as? String == "dev" }
        #expect(deployments.count == 1 && deployments.first?.json["ref"] as? String == head)
        // Links lead to the dashboard given by --public-url.
        #expect(devStatuses().allSatisfy { $0.json["target_url"] as? String == "https://trueup.example.com/#dev" }, "\(devStatuses().map(\.body))")
        let deploymentStatuses = receiver.requests.filter { $0.path.hasPrefix("/repos/acme/ml-platform/deployments/") && $0.json["environment"] as? String == "dev" }
        #expect(!deploymentStatuses.isEmpty && deploymentStatuses.allSatisfy { $0.json["log_url"] as? String == "https://trueup.example.com/#dev" && $0.json["environment_url"] as? String == "https://trueup.example.com/#dev" })

        // Someone edits qa's stored dataset by hand: drift, reported (selfHeal is off) on every reconcile.
        let store = try StateStore(readOnlyStateDirectory: fixture.stateDirectory)
        let stored = try #require(try LocalBackendStore(store: store).currentDatasets(environment: "qa")["numbers"]).location
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: stored)
        try "n\n666\n".write(toFile: stored, atomically: false, encoding: .utf8)
        #expect(try await eventuallyAsync(timeout: 60) { (await controller.environment("qa"))?["state"] as? String == "Drifted" })
        let reconciles = { (try? String(contentsOfFile: controller.logPath, encoding: .utf8))?.components(separatedBy: "environment=qa").count ?? 0 }
        let seen = reconciles()
        // Several more scheduled reconciles find the same drift (and staging's same pending commit).
        #expect(try await eventually(timeout: 60) { reconciles() >= seen + 4 })
        #expect(try await eventually(timeout: 10) { Self.events(receiver, "qa").contains { $0["event"] as? String == "drift" } })
        let drift = Self.events(receiver, "qa").filter { $0["event"] as? String == "drift" }
        #expect(drift.count == 1, "\(drift)")
        #expect(((drift.first?["actions"] as? [[String: Any]])?.first?["resource"] as? String) == "Dataset/numbers", "\(drift)")
        let pending = Self.events(receiver, "staging").filter { $0["event"] as? String == "pending" }
        #expect(pending.count == 1 && (pending.first?["summary"] as? String)?.contains("trueup apply --env staging") == true, "\(pending)")
        #expect(receiver.requests.filter { $0.path == "/repos/acme/ml-platform/statuses/\(head)" && $0.json["context"] as? String == "trueup/staging" }
            .map { $0.json["state"] as? String } == ["pending"])

        let metrics = try await controller.get("/metrics").text
        #expect(metrics.contains(#"trueup_notifications_total{receiver="github",result="delivered"}"#), "\(metrics)")
        #expect(metrics.contains(#"trueup_notifications_total{receiver="oncall",result="delivered"}"#))
        #expect(!controller.log.contains(Self.token))
        controller.terminate()
        #expect(try await controller.waitForExit() == 0)
    }

    @Test("a receiver that never answers does not hold up reconciles; events recorded but undelivered when the controller is killed with -9 are delivered after restart with the same delivery ids")
    func deliveredAfterKill() async throws {
        let port = try freePort()
        let hanging = try RecordingReceiver(["--hang"], port: port)
        let fixture = try await ControllerFixture()
        try fixture.write("environments/dev/environment.yaml", ControllerFixture.environment("dev", sync: "auto") + """

              notify:
                - {name: oncall, type: webhook, url: "\(hanging.url)/hooks/trueup"}
            """)
        let first = try await fixture.commitAndPush("dev reports to a webhook")
        let environment = ["TRUEUP_NOTIFY_SEND_TIMEOUT": "2", "TRUEUP_NOTIFY_RETRY_DELAY": "0.2"]
        let controller = try fixture.startController(arguments: ["--poll", "1s"], environment: environment)
        try await controller.waitUntilApplied("dev", first)
        #expect(try await eventually(timeout: 30) { !hanging.requests.isEmpty }, "the receiver was called")

        // The receiver hangs; the next commit is applied all the same.
        try fixture.write("data/numbers.csv", "n\n1\n2\n3\n4\n")
        let second = try await fixture.commitAndPush("four numbers")
        try await controller.waitUntilApplied("dev", second)
        let seen = Set(hanging.requests.compactMap { $0.header("X-Trueup-Delivery") })

        // kill -9: nothing was delivered (the receiver never answered). It comes back on its port.
        controller.killHard()
        _ = try await controller.waitForExit()
        hanging.stop()
        let healthy = try RecordingReceiver(port: port)
        let restarted = try fixture.startController(arguments: ["--poll", "1s"], environment: environment)
        #expect(try await eventually(timeout: 60) { healthy.requests.count >= 4 }, "\(healthy.requests.map(\.body))")
        let events = healthy.requests.map(\.json)
        let delivered = healthy.requests.compactMap { $0.header("X-Trueup-Delivery") }
        #expect(Set(events.compactMap { e in (e["revision"] as? [String: Any])?["commit"] as? String }) == [first, second], "\(events)")
        #expect(events.filter { $0["event"] as? String == "succeeded" }.count == 2, "\(events)")
        #expect(seen.isSubset(of: Set(delivered)), "the ids tried before the kill are the ids delivered after it: \(seen) vs \(delivered)")
        #expect(zip(events, delivered).allSatisfy { $0["id"] as? String == $1 })
        restarted.terminate()
        _ = try await restarted.waitForExit()
    }
}
