import Foundation
import Testing
import TrueupBackends
import TrueupStore
#if canImport(Glibc)
import Glibc
#endif

/// Health is checked between reconciles (`spec.healthInterval`), off the reconcile path: a server
/// that dies shows as Degraded in the API at once, and an environment that heals itself
/// (`selfHeal`, sync auto) starts it again without waiting for its interval.
@Suite("Controller health checks", .serialized)
struct HealthCheckTests {
    /// A prompt served by a few lines of Python: enough for a deployment with a health check.
    static func addServer(to fixture: ControllerFixture) throws {
        try fixture.write("environments/base/greeting.yaml", """
            apiVersion: trueup/v1
            kind: Prompt
            metadata: {name: greeting}
            spec: {template: "Hello {{name}}"}
            ---
            apiVersion: trueup/v1
            kind: Deployment
            metadata: {name: greeter}
            spec:
              prompt: greeting
              code: serve
              command: [python3, server.py]
              health: {path: /healthz, timeout: 30s}
            """)
        try fixture.write("serve/server.py", """
            import http.server, os
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
                def log_message(self, *args): pass
            http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
            """)
    }

    @Test func aKilledServerIsDegradedAtOnceAndHealedWhereTheEnvironmentHealsItself() async throws {
        let fixture = try await ControllerFixture()
        try Self.addServer(to: fixture)
        // dev heals itself (selfHeal, auto); staging is manual: Degraded is shown, nothing is started.
        // Reconcile intervals of an hour: only the health check can notice anything in this test.
        try fixture.write("environments/dev/environment.yaml", ControllerFixture.environment("dev", sync: "auto") + "\n  healthInterval: 1s")
        // staging tells an on-call webhook (nothing listens there: the outbox keeps what is due).
        try fixture.write("environments/staging/environment.yaml", ControllerFixture.environment("staging", sync: "auto").replacingOccurrences(of: "selfHeal: true", with: "selfHeal: false")
                          + "\n  healthInterval: 1s\n  notify:\n    - {name: oncall, type: webhook, url: \"http://127.0.0.1:\(try freePort())/hook\", events: [degraded, recovered]}")
        let head = try await fixture.commitAndPush("a greeter in every environment, health checked every second")
        let controller = try fixture.startController(arguments: ["--poll", "1h"])
        try await controller.waitUntilApplied("dev", head)
        try await controller.waitUntilApplied("staging", head)
        func health(_ name: String) async -> String? { ((await controller.environment(name))?["health"] as? [String: Any])?["status"] as? String }
        let healthy = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            let dev = await health("dev"), staging = await health("staging")
            return dev == "Healthy" && staging == "Healthy"
        }
        #expect(healthy)

        let store = try StateStore(readOnlyStateDirectory: fixture.stateDirectory)
        let local = try LocalBackendStore(store: store)
        let devServer = try #require(try local.deployments(environment: "dev")["greeter"]?.pid)
        let stagingServer = try #require(try local.deployments(environment: "staging")["greeter"]?.pid)
        kill(devServer, SIGKILL)
        kill(stagingServer, SIGKILL)

        // staging: Degraded, saying why, and left so.
        let degraded = try await eventuallyAsync(timeout: 30) { await health("staging") == "Degraded" }
        let stagingView = await controller.environment("staging") ?? [:]
        #expect(degraded, "\(stagingView)")
        // With the reason: the process is gone (a check that ran while it died may first have
        // found only its port closed; the next one, a second later, finds the process gone).
        let reasoned = try await eventuallyAsync(timeout: 30) {
            let staging = (await controller.environment("staging"))?["health"] as? [String: Any]
            return (staging?["summary"] as? String)?.contains("Deployment/greeter its process \(stagingServer) is not running") == true
        }
        let stagingHealth = (await controller.environment("staging"))?["health"] as? [String: Any]
        #expect(reasoned, "\(stagingHealth ?? [:])")
        // dev: healed by a reconcile the health check started, long before its interval.
        let healed = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            guard let pid = try local.deployments(environment: "dev")["greeter"]?.pid, pid != devServer else { return false }
            return await health("dev") == "Healthy"
        }
        #expect(healed, "\(controller.log)")
        #expect(controller.log.contains("reconciling now to heal it"), "\(controller.log)")
        try await Task.sleep(for: .seconds(2))
        let stillDegraded = await health("staging")
        #expect(stillDegraded == "Degraded", "nothing heals an environment without selfHeal")
        // Degraded is news once, not once per check.
        let degradedEvents = try store.notifications(environment: "staging").filter { $0.entry.event == "degraded" }
        #expect(degradedEvents.count == 1, "\(degradedEvents.map(\.entry.event))")
        // Nobody listens at the webhook: the API (and the dashboard, which renders the same view) says so.
        let backlog = (await controller.environment("staging"))?["notifications"] as? [[String: Any]] ?? []
        #expect(backlog.contains { $0["receiver"] as? String == "oncall" && ((($0["pending"] as? Int) ?? 0) + (($0["failed"] as? Int) ?? 0)) >= 1 }, "\(backlog)")
        let metrics = try await controller.get("/metrics")
        #expect(metrics.text.contains(#"trueup_health{environment="staging",status="Degraded"} 1"#), "\(metrics.text)")
    }
}
