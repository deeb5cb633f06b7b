import Foundation
import Testing
import TrueupBackends
import TrueupStore

/// The dashboard as a person sees it: rendered by headless Chromium (Debian's `chromium`, which
/// `scripts/setup-deps --test` installs), then read for what is on the page.
@Suite("Dashboard in a browser", .serialized)
struct DashboardTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: chromium != nil, "chromium is not installed: run scripts/setup-deps --test (apt-get install chromium) to render the dashboard"))
    func environmentsAssetsDriftLastCommitAndRecentRuns() async throws {
        let fixture = try await ControllerFixture()
        // staging: applied automatically, drift reported but not corrected.
        try fixture.write("environments/staging/environment.yaml",
                          ControllerFixture.environment("staging", sync: "auto").replacingOccurrences(of: "selfHeal: true", with: "selfHeal: false"))
        // A prompt gated on a job's metrics: the dashboard shows them against the threshold.
        try fixture.write("environments/base/greeting.yaml", """
            apiVersion: trueup/v1
            kind: Job
            metadata: {name: check}
            spec:
              code: jobs/count
              command: [sh, count.sh]
              inputs: {datasets: [numbers]}
              env: {EXECUTIONS: "\(fixture.base)/gate-executions.log", SLEEP_SECONDS: "0"}
            ---
            apiVersion: trueup/v1
            kind: Prompt
            metadata: {name: greeting}
            spec:
              template: "Hello {{name}}"
              gates: [{job: check, metrics: {rows: ">= 3"}}]
            """)
        let head = try await fixture.commitAndPush("staging follows main, without self-healing", author: "Katherine Johnson")
        let controller = try fixture.startController(arguments: ["--poll", "1s"])
        try await controller.waitUntilApplied("dev", head)
        try await controller.waitUntilApplied("staging", head)

        // Someone edits staging's stored dataset by hand: drift, reported, not healed.
        let store = try StateStore(readOnlyStateDirectory: fixture.stateDirectory)
        let stored = try #require(try LocalBackendStore(store: store).currentDatasets(environment: "staging")["numbers"]).location
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: stored)
        try "n\n666\n".write(toFile: stored, atomically: false, encoding: .utf8)
        #expect(try await controller.request("POST", "/api/v1/environments/staging/sync").status == 202)
        let drifted = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            (await controller.environment("staging"))?["state"] as? String == "Drifted"
        }
        let staging = await controller.environment("staging") ?? [:]
        #expect(drifted, "\(staging)")

        // The API is closed though no token was given: the controller made one and said where.
        let token = try #require(controller.madeToken)
        #expect(controller.log.contains(fixture.stateDirectory + "/api-token") && !controller.log.contains(token), "\(controller.log)")

        // Before the token is given, the dashboard asks for it and shows no Sync button.
        let signedOutDump = try await dumpDOM(controller.baseURL + "/", fixture: fixture)
        #expect(signedOutDump.status == 0, "\(signedOutDump)")
        let signedOut = signedOutDump.stdout
        #expect(signedOut.contains(#"name="token""#) && !signedOut.contains("data-sync="), "\(signedOut)")
        #expect(!signedOut.contains("data-environment="), "nothing of the environments before sign-in")

        // A person signs in once (the form posted as the login page posts it), then sees the page.
        let signIn = fixture.base + "/sign-in.html"
        try """
            <!doctype html><html><body onload="document.forms[0].submit()">
            <form method="post" action="\(controller.baseURL)/login"><input name="token" value="\(token)"></form></body></html>
            """.write(toFile: signIn, atomically: true, encoding: .utf8)
        // A loaded machine may end Chromium's virtual time before the form's round trip: try again,
        // with more virtual time each round. On such a page Chromium also sometimes never exits
        // (as after a screenshot, below); it is killed at the time limit, and the next round
        // starts a new one.
        var dom = "", attempts: [String] = []
        for budget in [3_000, 6_000, 12_000, 20_000] where !dom.contains("data-environment=") {
            do {
                let dump = try await dumpDOM("file://" + signIn, fixture: fixture, virtualTimeBudget: budget)
                dom = dump.stdout
                attempts.append("virtual time \(budget) ms: \(dump)")
            } catch {
                attempts.append("virtual time \(budget) ms: \(error)")
            }
        }
        try #require(dom.contains("data-environment="), "the dashboard after signing in, never reached:\n\(attempts.joined(separator: "\n"))")
        await screenshot("file://" + signIn, fixture: fixture, to: fixture.base + "/dashboard.png")
        #expect(dom.contains(#"<button type="submit" data-sync="staging">Sync</button>"#), "a Sync button per environment once signed in: \(dom)")
        #expect(!dom.contains(token), "the page holds a form key, not the token")
        // The environments, with their state.
        #expect(dom.contains(#"<tr data-environment="dev" data-state="Synced" data-health="Healthy">"#), "\(dom)")
        #expect(dom.contains(#"<tr data-environment="staging" data-state="Drifted" data-health=""#))
        // The asset matrix: environments across, assets down, each cell a state.
        #expect(dom.contains(#"<tr data-asset="Dataset/numbers">"#) && dom.contains(#"<tr data-asset="Job/count">"#))
        let datasetRow = Self.row(dom, "Dataset/numbers")
        #expect(datasetRow.contains(#"data-environment="dev" data-state="Synced""#), "\(datasetRow)")
        #expect(datasetRow.contains(#"data-environment="staging" data-state="Drifted""#), "\(datasetRow)")
        #expect(datasetRow.contains("was modified"), "the drift says what changed: \(datasetRow)")
        // The gate's metrics against its threshold, in the asset's cell.
        let promptRow = Self.row(dom, "Prompt/greeting")
        #expect(promptRow.contains("check: rows 3 &gt;= 3 ✓"), "\(promptRow)")
        // The last commit: sha, author, message.
        #expect(dom.contains(String(head.prefix(12))) && dom.contains("Katherine Johnson") && dom.contains("staging follows main, without self-healing"))
        // Recent runs, with their outcome and a link to their logs.
        #expect(dom.contains(#"<tr data-run="1">"#) && dom.contains(#"href="/api/v1/runs/1/logs""#))
        #expect(dom.contains(">succeeded<"))
        // It refreshes itself.
        #expect(dom.contains(#"http-equiv="refresh""#))
        #expect(!dom.contains("<script"), "no JavaScript")

        if let keep = ProcessInfo.processInfo.environment["TRUEUP_SCREENSHOT_DIR"] {
            try? FileManager.default.removeItem(atPath: keep + "/dashboard.png")
            try? FileManager.default.copyItem(atPath: fixture.base + "/dashboard.png", toPath: keep + "/dashboard.png")
        }
    }

    /// The page's DOM after Chromium rendered it. The virtual time budget lets a page that submits
    /// a form on load reach the page it leads to.
    private func dumpDOM(_ url: String, fixture: ControllerFixture, virtualTimeBudget: Int = 3_000) async throws -> CommandResult {
        try await Command.run(chromiumCommand(fixture: fixture, virtualTimeBudget: virtualTimeBudget) + ["--dump-dom", url],
                              in: fixture.base, environment: chromiumEnvironment(fixture), logs: fixture.logs, timeout: 60)
    }

    /// A screenshot, for people (`TRUEUP_SCREENSHOT_DIR`); the assertions read the DOM. Chromium
    /// sometimes never exits after a screenshot of a page that submits a form on load, so the wait
    /// is bounded and a missing picture is no failure.
    private func screenshot(_ url: String, fixture: ControllerFixture, to file: String) async {
        guard let command = try? chromiumCommand(fixture: fixture, virtualTimeBudget: 3_000) else { return }
        _ = try? await Command.run(command + ["--screenshot=\(file)", url], in: fixture.base,
                                   environment: chromiumEnvironment(fixture), logs: fixture.logs, timeout: 30)
    }

    /// Each run has a profile of its own: a run stopped at its time limit may leave its profile
    /// locked, and a later run on that profile would hand its page to the old one and print nothing.
    private func chromiumCommand(fixture: ControllerFixture, virtualTimeBudget: Int) throws -> [String] {
        let chromium = try #require(Self.chromium)
        let profile = fixture.base + "/chromium-profile-" + UUID().uuidString.prefix(8)
        return [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--user-data-dir=\(profile)",
                "--window-size=1280,900", "--virtual-time-budget=\(virtualTimeBudget)"]
    }

    private func chromiumEnvironment(_ fixture: ControllerFixture) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = fixture.base
        return environment
    }

    /// The `<tr>` of one asset in the matrix.
    private static func row(_ dom: String, _ asset: String) -> String {
        guard let start = dom.range(of: "<tr data-asset=\"\(asset)\">") else { return "" }
        let rest = dom[start.lowerBound...]
        return String(rest[..<(rest.range(of: "</tr>")?.upperBound ?? rest.endIndex)])
    }
}
