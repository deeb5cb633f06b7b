import Crypto
import Foundation
import GRDB
import Testing
import TrueupBackends
import TrueupStore

/// `trueup controller` as a process, against a real bare remote that a working clone pushes to.
/// Waits are generous polls; nothing asserts how long anything took.
@Suite("trueup controller: end to end", .serialized)
struct ControllerProcessTests {
    @Test func aPushIsAppliedWithinAPollAndManualOrFrozenEnvironmentsWaitAsPendingPlans() async throws {
        let fixture = try await ControllerFixture()
        // frozen says sync: auto, but a deny window is always open.
        try fixture.write("environments/frozen/environment.yaml", ControllerFixture.environment("frozen", sync: "auto")
            + "\n  windows:\n    - {kind: deny, schedule: \"* * * * *\", duration: 1h}\n")
        let first = try await fixture.commitAndPush("a frozen environment")
        let controller = try fixture.startController(arguments: ["--poll", "1s"])
        try await controller.waitUntilApplied("dev", first)
        #expect(fixture.started("dev").count == 1)

        let frozen = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            ((await controller.environment("frozen"))?["lastReconcile"] as? [String: Any])?["outcome"] as? String == "SyncWindowClosed"
        }
        #expect(frozen)
        let frozenView = await controller.environment("frozen") ?? [:]
        #expect(frozenView["state"] as? String == "OutOfSync")
        #expect((frozenView["message"] as? String)?.contains("deny window '* * * * *'") == true, "\(frozenView)")
        #expect(frozenView["pendingPlan"] is [String: Any])
        #expect(fixture.started("frozen").isEmpty)

        // staging says sync: manual: planned, recorded as pending, not applied.
        let pending = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            (await controller.environment("staging"))?["state"] as? String == "OutOfSync"
        }
        let staging = await controller.environment("staging") ?? [:]
        #expect(pending, "staging: \(staging)")
        let plan = staging["pendingPlan"] as? [String: Any]
        let actions = (plan?["changes"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        #expect(actions.contains("run") && actions.contains("create"), "the pending plan: \(plan ?? [:])")
        #expect((staging["message"] as? String)?.contains("sync is manual") == true)
        #expect(fixture.started("staging").isEmpty)

        // A new commit is applied within a poll.
        try fixture.write("data/numbers.csv", "n\n1\n2\n3\n4\n")
        let second = try await fixture.commitAndPush("four numbers")
        try await controller.waitUntilApplied("dev", second)
        #expect(fixture.started("dev").count == 2, "new data, new job identity: one more run")

        // A sync through the API applies the manual environment.
        let sync = try await controller.request("POST", "/api/v1/environments/staging/sync")
        #expect(sync.status == 202)
        try await controller.waitUntilApplied("staging", second)
        #expect(fixture.started("staging").count == 1)

        let runs = try await controller.get("/api/v1/runs?env=dev").json["runs"] as? [[String: Any]] ?? []
        #expect(runs.count == 2)
        #expect(runs.first?["commit"] as? String == second && runs.first?["outcome"] as? String == "succeeded")
        let logs = try await controller.get("/api/v1/runs/\(runs.first?["id"] as? Int ?? 0)/logs")
        #expect(logs.text.contains("counted 4 rows"), "the job's output is in the run's logs: \(logs.text)")

        let metrics = try await controller.get("/metrics").text
        #expect(metrics.contains(#"trueup_reconciles_total{environment="dev",outcome="applied"} 2"#), "\(metrics)")
        #expect(metrics.contains(#"trueup_last_applied_revision_info{environment="dev",commit="\#(second)"} 1"#))
        #expect(metrics.contains(#"trueup_pending_changes{environment="staging"} 0"#))
        #expect(metrics.contains(#"trueup_pending_changes{environment="frozen"} 2"#))
        #expect(metrics.contains(#"trueup_reconciles_total{environment="frozen",outcome="window_closed"}"#))
        #expect(metrics.contains("trueup_reconcile_duration_seconds_count{environment=\"dev\"}"))
        #expect(metrics.contains("trueup_drift_resources{environment=\"dev\",kind=\"Dataset\"} 0"))
        #expect(metrics.contains("trueup_leader 1"))

        controller.terminate()
        #expect(try await controller.waitForExit() == 0)
    }

    @Test func aWebhookFetchesAtOnceInsteadOfAtTheNextPoll() async throws {
        let fixture = try await ControllerFixture()
        let first = try await fixture.git(["rev-parse", "HEAD"])
        let secret = "It's a Secret to Everybody"
        let controller = try fixture.startController(arguments: ["--poll", "1h", "--webhook-secret-env", "HOOK_SECRET"], environment: ["HOOK_SECRET": secret])
        try await controller.waitUntilApplied("dev", first)

        try fixture.write("data/numbers.csv", "n\n10\n20\n")
        let second = try await fixture.commitAndPush("two numbers")
        let body = Data(#"{"ref": "refs/heads/main"}"#.utf8)
        let signature = "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))).map { String(format: "%02x", $0) }.joined()
        var headers = ["X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "Content-Type": "application/json"]

        headers["X-Hub-Signature-256"] = "sha256=" + String(repeating: "0", count: 64)
        #expect(try await controller.request("POST", "/api/v1/webhooks/github", headers: headers, body: body).status == 401)

        headers["X-Hub-Signature-256"] = signature
        #expect(try await controller.request("POST", "/api/v1/webhooks/github", headers: headers, body: body).status == 202)
        // The poll is an hour away: only the webhook can have made it fetch.
        try await controller.waitUntilApplied("dev", second)
        #expect(try await controller.request("POST", "/api/v1/webhooks/github", headers: headers, body: body).status == 200, "a redelivery is a no-op")
        let metrics = try await controller.get("/metrics").text
        #expect(metrics.contains(#"trueup_webhooks_total{provider="github",result="accepted"} 1"#))
        #expect(metrics.contains(#"trueup_webhooks_total{provider="github",result="unauthorized"} 1"#))
        #expect(!controller.log.contains(secret), "the secret is never logged")
    }

    @Test func anInvalidCommitOrAnUnreachableRemoteKeepsTheLastGoodStateAndDeletesNothing() async throws {
        let fixture = try await ControllerFixture()
        let good = try await fixture.git(["rev-parse", "HEAD"])
        let controller = try fixture.startController(arguments: ["--poll", "1s"])
        try await controller.waitUntilApplied("dev", good)

        // Broken: a misspelt field in the job, and the dataset removed. Were this commit taken,
        // prune (on in dev) would delete the dataset.
        try fixture.write("environments/base/count.yaml", (try String(contentsOfFile: fixture.work + "/environments/base/count.yaml", encoding: .utf8))
            .replacingOccurrences(of: "command:", with: "comand:"))
        try fixture.remove("environments/base/numbers.yaml")
        let broken = try await fixture.commitAndPush("typo")
        let noticed = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            ((await controller.environment("dev"))?["revisions"] as? [String: Any])?["head"] as? String == broken
        }
        #expect(noticed)
        let dev = await controller.environment("dev") ?? [:]
        let revisions = dev["revisions"] as? [String: Any] ?? [:]
        #expect(revisions["lastGood"] as? String == good)
        #expect(revisions["lastApplied"] as? String == good)
        let problem = dev["sourceProblem"] as? String ?? ""
        #expect(problem.contains("is invalid for dev") && problem.contains("comand"), "status says why: \(problem)")
        let conditions = dev["conditions"] as? [[String: Any]] ?? []
        #expect(conditions.contains { $0["type"] as? String == "SourceReady" && $0["status"] as? Bool == false && $0["reason"] as? String == "InvalidCommit" })
        let assets = dev["assets"] as? [[String: Any]] ?? []
        #expect(assets.contains { $0["resource"] as? String == "Dataset/numbers" && $0["state"] as? String == "Synced" }, "\(assets)")
        #expect(controller.log.contains("is invalid for dev"), "and the log says so")
        #expect(try await controller.get("/metrics").text.contains(#"trueup_desired_state_ok{environment="dev"} 0"#))

        // An interval reconcile of dev (a sync) still works from the last good state: nothing deleted.
        #expect(try await controller.request("POST", "/api/v1/environments/dev/sync").status == 202)
        let synced = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            ((await controller.environment("dev"))?["lastReconcile"] as? [String: Any])?["reason"] as? String == "sync"
        }
        #expect(synced)
        #expect(((await controller.environment("dev"))?["lastReconcile"] as? [String: Any])?["revision"] as? String == good)
        let store = try StateStore(readOnlyStateDirectory: fixture.stateDirectory)
        #expect(try LocalBackendStore(store: store).currentDatasets(environment: "dev")["numbers"] != nil, "the dataset is still current")
        #expect(try store.appliedResources(environment: "dev").count == 2)

        // The remote goes away: reported, nothing changes.
        try FileManager.default.moveItem(atPath: fixture.origin, toPath: fixture.origin + ".away")
        let unreachable = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            (try? await controller.get("/metrics").text.contains("trueup_source_reachable 0")) ?? false
        }
        #expect(unreachable)
        #expect((try await controller.get("/").text).contains("Git is unreachable"))
        try FileManager.default.moveItem(atPath: fixture.origin + ".away", toPath: fixture.origin)

        // Fixed: the next valid commit is applied; the dataset was never gone.
        try fixture.write("environments/base/count.yaml", (try String(contentsOfFile: fixture.work + "/environments/base/count.yaml", encoding: .utf8))
            .replacingOccurrences(of: "comand:", with: "command:"))
        try await fixture.git(["checkout", "-q", good, "--", "environments/base/numbers.yaml"])
        try fixture.write("data/numbers.csv", "n\n5\n")
        let fixed = try await fixture.commitAndPush("fixed")
        try await controller.waitUntilApplied("dev", fixed)
        let after = await controller.environment("dev") ?? [:]
        #expect(after["sourceProblem"] == nil || after["sourceProblem"] is NSNull)
        #expect(fixture.started("dev").count == 2)
    }

    @Test func twoControllersOnOneStateDirectoryMakeOneLeaderAndTheSecondTakesOver() async throws {
        let fixture = try await ControllerFixture()
        let first = try await fixture.git(["rev-parse", "HEAD"])
        let lease = ["--poll", "1s", "--lease-duration", "3s"]
        let leader = try fixture.startController(arguments: lease)
        try await leader.waitUntilApplied("dev", first)
        let standby = try fixture.startController(arguments: lease)
        let waiting = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            let readiness = try? await standby.get("/readyz")
            return readiness?.status == 503 && (readiness?.json["reason"] as? String)?.contains("standby") == true
        }
        #expect(waiting, "the second controller waits: \(standby.log)")
        try await leader.waitUntilReady(true)

        // The standby writes nothing, so a webhook or a sync sent to it is refused.
        #expect(try await standby.request("POST", "/api/v1/environments/dev/sync").status == 503)

        leader.killHard()
        _ = try await leader.waitForExit()
        try fixture.write("data/numbers.csv", "n\n7\n8\n")
        let second = try await fixture.commitAndPush("after the leader died")
        try await standby.waitUntilReady(true)
        try await standby.waitUntilApplied("dev", second)
        #expect(standby.log.contains("leading"))
        // Each job identity ran once, whoever led.
        let runIDs = fixture.started("dev").map { $0.split(separator: " ").last.map(String.init) ?? "" }
        #expect(runIDs.count == 2 && Set(runIDs).count == 2, "\(fixture.executions)")
    }

    @Test func sigtermDuringAnApplyLetsItFinishAndARestartRunsNothingTwice() async throws {
        let fixture = try await ControllerFixture(jobSleepSeconds: 4)
        let first = try await fixture.git(["rev-parse", "HEAD"])
        let controller = try fixture.startController(arguments: ["--poll", "1s"])
        let running = try await eventually(timeout: ControllerFixture.timeout) { fixture.started("dev").count == 1 }
        #expect(running, "the job started: \(controller.log)")

        controller.terminate()
        #expect(try await controller.waitForExit() == 0, "exit 0 after SIGTERM: \(controller.log)")
        #expect(fixture.executions.contains { $0.hasPrefix("dev finished ") }, "the running apply finished before the exit: \(fixture.executions)")
        #expect(controller.log.contains("released the leader lease"))
        #expect(controller.log.contains("local servers outlive the controller: deployments on the local backend keep serving after it stops; stop them with `trueup stop --env ENV --state-dir \(fixture.stateDirectory)`"),
                "the start says what keeps running: \(controller.log)")
        let store = try StateStore(readOnlyStateDirectory: fixture.stateDirectory)
        let runs = try store.runs(environment: "dev")
        #expect(runs.count == 1 && runs.first?.outcome == "succeeded", "the apply reached a recorded state: \(runs.map(\.outcome))")
        #expect(try store.leaseHolder("controller").map { $0.expiresAt == 0 } == true, "the lease was given back")

        let restarted = try fixture.startController(arguments: ["--poll", "1s"])
        try await restarted.waitUntilApplied("dev", first)
        let settled = try await eventuallyAsync(timeout: ControllerFixture.timeout) {
            ((await restarted.environment("dev"))?["lastReconcile"] as? [String: Any])?["outcome"] as? String == "InSync"
        }
        #expect(settled, "the restart found nothing to do")
        #expect(fixture.started("dev").count == 1, "no job ran twice: \(fixture.executions)")
        #expect(try StateStore(readOnlyStateDirectory: fixture.stateDirectory).runs(environment: "dev").count == 1)
    }

    @Test func theAPITokenIsEnforcedAndTrueupDiffReadsStateFromTheController() async throws {
        let fixture = try await ControllerFixture()
        let first = try await fixture.git(["rev-parse", "HEAD"])
        let token = "diff-token-123"
        let controller = try fixture.startController(arguments: ["--poll", "1s", "--api-token-env", "API_TOKEN"], environment: ["API_TOKEN": token])
        try await controller.waitUntilApplied("dev", first, token: token)
        #expect(try await controller.get("/api/v1/environments").status == 401)
        #expect(try await controller.get("/api/v1/environments", token: "nope").status == 401)
        #expect(try await controller.get("/api/v1/environments/dev/state", token: token).status == 200)

        // A pull request changes the job's code; CI has no state of its own, only the controller.
        try fixture.write("jobs/count/count.sh", (try String(contentsOfFile: fixture.work + "/jobs/count/count.sh", encoding: .utf8)) + "# a comment\n")
        try await fixture.commit("change the job")
        var environment = ProcessInfo.processInfo.environment
        environment["API_TOKEN"] = token
        let diff = try await Command.run(
            [ControllerProcess.binary, "diff", "--repo", fixture.work, "--base", "origin/main", "--head", "HEAD", "--env", "dev",
             "--server", controller.baseURL, "--api-token-env", "API_TOKEN", "--format", "json"],
            in: fixture.work, environment: environment, logs: fixture.logs)
        #expect(diff.status == 2, "changes pending: \(diff)")
        let report = (try? JSONSerialization.jsonObject(with: Data(diff.stdout.utf8))) as? [String: Any] ?? [:]
        let dev = (report["environments"] as? [[String: Any]])?.first { $0["name"] as? String == "dev" } ?? [:]
        let changes = ((dev["plan"] as? [String: Any])?["changes"] as? [[String: Any]]) ?? []
        func action(_ resource: String) -> String? { changes.first { $0["resource"] as? String == resource }?["action"] as? String }
        #expect(action("Job/count") == "run", "\(changes)")
        #expect(action("Dataset/numbers") == "noop", "the dataset exists, as only the controller knows: \(changes)")
        #expect(!FileManager.default.fileExists(atPath: fixture.work + "/.trueup/state.db"), "diff wrote no state of its own")

        // Without the controller's state, the same diff would create the dataset.
        let local = try await Command.run([ControllerProcess.binary, "diff", "--repo", fixture.work, "--base", "origin/main", "--head", "HEAD", "--env", "dev", "--format", "json"],
                                          in: fixture.work, environment: environment, logs: fixture.logs)
        #expect(local.stdout.contains("\"create\""), "\(local)")

        environment["API_TOKEN"] = "wrong-token-9f3a"
        let refused = try await Command.run(
            [ControllerProcess.binary, "diff", "--repo", fixture.work, "--base", "origin/main", "--head", "HEAD", "--server", controller.baseURL, "--api-token-env", "API_TOKEN"],
            in: fixture.work, environment: environment, logs: fixture.logs)
        #expect(refused.status == 1 && refused.stderr.contains("401") && refused.stderr.contains("--api-token-env"), "\(refused)")
        #expect(!controller.log.contains(token))
        #expect(!(refused.stdout + refused.stderr).contains("wrong-token-9f3a"), "the token sent is printed nowhere: \(refused)")

        let both = try await Command.run(
            [ControllerProcess.binary, "diff", "--repo", fixture.work, "--base", "origin/main", "--head", "HEAD", "--server", controller.baseURL,
             "--state-dir", fixture.stateDirectory],
            in: fixture.work, environment: environment, logs: fixture.logs)
        #expect(both.status != 0 && both.stderr.contains("not both"), "\(both)")

        // With the controller gone, diff says so and names --server; it does not hang.
        controller.terminate()
        #expect(try await controller.waitForExit() == 0)
        environment["API_TOKEN"] = token
        let gone = try await Command.run(
            [ControllerProcess.binary, "diff", "--repo", fixture.work, "--base", "origin/main", "--head", "HEAD", "--server", controller.baseURL, "--api-token-env", "API_TOKEN"],
            in: fixture.work, environment: environment, logs: fixture.logs)
        #expect(gone.status == 1 && gone.stderr.contains("--server"), "\(gone)")
    }

    /// The state a controller sends for `diff --server` carries each job's latest run in full and
    /// earlier runs by identity only; a pull request that puts a job back to earlier code finds
    /// that earlier run by fetching it, as a plan against the controller's own state does.
    @Test func diffFromTheControllerFindsAJobsEarlierRunByFetchingIt() async throws {
        let fixture = try await ControllerFixture()
        let first = try await fixture.git(["rev-parse", "HEAD"])
        let controller = try fixture.startController(arguments: ["--poll", "1s"])
        try await controller.waitUntilApplied("dev", first)
        let original = try String(contentsOfFile: fixture.work + "/jobs/count/count.sh", encoding: .utf8)
        try fixture.write("jobs/count/count.sh", original + "# the second version\n")
        let second = try await fixture.commitAndPush("change the job")
        try await controller.waitUntilApplied("dev", second)
        #expect(fixture.started("dev").count == 2, "each version of the job ran once: \(fixture.executions)")

        let state = try await controller.get("/api/v1/environments/dev/state")
        let jobRuns = (state.json["observed"] as? [String: Any])?["jobRuns"] as? [String: Any] ?? [:]
        let latest = jobRuns["latest"] as? [String: Any] ?? [:]
        let earlier = jobRuns["earlier"] as? [String] ?? []
        #expect(latest.count == 1 && earlier.count == 1, "the latest run in full, the first by identity only: \(jobRuns)")
        let fetched = try await controller.get("/api/v1/environments/dev/job-runs/\(earlier.first ?? "none")")
        #expect(fetched.status == 200 && fetched.json["identity"] as? String == earlier.first, "\(fetched.text)")
        #expect(try await controller.get("/api/v1/environments/dev/job-runs/no-such-run").status == 404)

        // The pull request puts the job's code back: its first run already made what it needs.
        try fixture.write("jobs/count/count.sh", original)
        try await fixture.commit("put the job back")
        /// Job/count's action in the report; the diff itself must exit 2 (changes: the job's code).
        func diffOfTheJob() async throws -> (action: String?, output: String) {
            let diff = try await Command.run(
                [ControllerProcess.binary, "diff", "--repo", fixture.work, "--base", "origin/main", "--head", "HEAD", "--env", "dev",
                 "--server", controller.baseURL, "--api-token-env", "API_TOKEN", "--format", "json"],
                in: fixture.work, environment: ProcessInfo.processInfo.environment.merging(["API_TOKEN": controller.madeToken ?? ""]) { _, new in new },
                logs: fixture.logs)
            let report = (try? JSONSerialization.jsonObject(with: Data(diff.stdout.utf8))) as? [String: Any] ?? [:]
            let dev = (report["environments"] as? [[String: Any]])?.first { $0["name"] as? String == "dev" } ?? [:]
            let changes = ((dev["plan"] as? [String: Any])?["changes"] as? [[String: Any]]) ?? []
            #expect(diff.status == 2, "\(diff)")
            return (changes.first { $0["resource"] as? String == "Job/count" }?["action"] as? String, "\(diff)")
        }
        let found = try await diffOfTheJob()
        #expect(found.action == "noop", "the earlier run with this identity was found, so the job does not run again: \(found.output)")

        // That run's record cannot be read on the controller: the job alone is blocked, saying what to do.
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        try await DatabaseQueue(path: fixture.stateDirectory + "/state.db", configuration: configuration).write { db in
            try db.execute(sql: #"UPDATE job_runs SET record_json = '{"identity": 1}' WHERE identity = ?"#, arguments: [earlier.first ?? ""])
        }
        let blocked = try await diffOfTheJob()
        #expect(blocked.action == "blocked", "\(blocked.output)")
        #expect(blocked.output.contains("restore the controller's state folder from a backup"), "\(blocked.output)")
    }
}
