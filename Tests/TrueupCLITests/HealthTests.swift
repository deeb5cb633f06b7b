import Foundation
import Testing

/// `trueup status` reports health as the serving backend sees it now, not as the last apply left it.
@Suite("live health in status")
struct HealthTests {
    @Test("a killed server makes status say Degraded at once, with the reason; apply makes it Healthy again")
    func aKilledServerIsDegradedInStatus() async throws {
        let fixture = try await Fixture()
        defer { fixture.stopEverything() }
        try await fixture.apply()
        let before = try await fixture.status()
        #expect((before.json["health"] as? [String: Any])?["status"] as? String == "Healthy", "\(before.json)")
        #expect(before.resource("Deployment/support-api")?["health"] as? String == "Healthy")

        let support = try #require(try fixture.deployments()["support-api"])
        kill(support.pid, SIGKILL)
        #expect(try await eventually { !Processes.isRunning(support.pid, startTime: support.startTime) }, "support-api did not die")

        let text = try await fixture.trueup("status", "--env", "dev")
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("health:         Degraded: Deployment/support-api its process \(support.pid) is not running"), "\(text.stdout)")
        #expect(!text.stdout.contains("serving at") || !text.stdout.contains("(pid \(support.pid))"), "the dead pid is not shown as serving:\n\(text.stdout)")
        let degraded = try await fixture.status()
        #expect((degraded.json["health"] as? [String: Any])?["status"] as? String == "Degraded")
        #expect(degraded.resource("Deployment/support-api")?["health"] as? String == "Degraded")
        #expect(degraded.pid("Deployment/support-api") == nil, "a dead process has no pid to show")
        #expect(degraded.resource("Deployment/churn-api")?["health"] as? String == "Healthy", "the other server is still fine")

        try await fixture.apply()
        let healed = try await fixture.status()
        #expect((healed.json["health"] as? [String: Any])?["status"] as? String == "Healthy", "\(healed.json)")
    }
}
