import Foundation
import Glibc
import Testing
import TrueupBackends
import TrueupCore

/// `trueup apply` of an environment whose jobs and serving run on the test head node, with its
/// artifacts in a shared `path` store: the real binary, a real git repository (under /tmp, which
/// the head does not see: any path leaking from trueup to the cluster fails).
@Suite("trueup apply on Ray", .serialized)
struct RayApplyTests {
    /// The training job: a model folder and metrics, written where the job contract says.
    static let train = """
        import json, os
        out = os.environ["TRUEUP_OUTPUT_DIR"]
        os.makedirs(os.path.join(out, "model"))
        with open(os.path.join(out, "model", "weights.txt"), "w") as f:
            f.write("w=%s\\n" % os.environ["WEIGHT"])
        with open(os.path.join(out, "metrics.json"), "w") as f:
            json.dump({"auc": 0.91}, f)
        print("trained on ray, run", os.environ["TRUEUP_RUN_ID"])
        """

    static func environment(url: String, store: String) -> String {
        """
        apiVersion: trueup/v1
        kind: Environment
        metadata: {name: raydev}
        spec:
          backends:
            registry: {type: local}
            jobs: {type: ray, url: "\(url)"}
            serving: {type: ray, url: "\(url)"}
          artifacts: {type: path, path: "\(store)"}
        """
    }

    static let resources = """
        apiVersion: trueup/v1
        kind: Job
        metadata: {name: train}
        spec:
          code: code
          command: [python3, train.py]
          env: {WEIGHT: "0.7"}
          timeout: 2m
          resources: {cpus: 0.25}
        ---
        apiVersion: trueup/v1
        kind: Model
        metadata: {name: scorer-model}
        spec:
          fromJob: train
        ---
        apiVersion: trueup/v1
        kind: Deployment
        metadata: {name: scorer}
        spec:
          model: scorer-model
          code: code
          importPath: scorer_app:app
          replicas: 1
          config: {threshold: 0.5}
          resources: {cpus: 0.25}
        """

    @Test func applyRunsTheJobOnRayServesItsModelThroughServeAReapplyDoesNothingAndDriftIsHealed() async throws {
        let head = try await RayHead.shared.running()
        let serve = try await RayHead.shared.serve()
        try await ScratchFolder.with("trueup-ray-apply") { scratch in
            let repo = scratch.file("repo")
            try Files.write(Self.environment(url: head.url, store: head.store), to: repo + "/environments/raydev/environment.yaml")
            try Files.write(Self.resources, to: repo + "/environments/raydev/scorer.yaml")
            try Files.write(Self.train, to: repo + "/code/train.py")
            try Files.write(RayServingTests.application, to: repo + "/code/scorer_app.py")
            try Files.write(".trueup/\n", to: repo + "/.gitignore")
            for arguments in [["init", "-q", "-b", "main", "."], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "scorer on ray"]] {
                _ = try await Command.run("/usr/bin/git", arguments, in: repo)
            }
            try await ServeTests.shared.exclusively { try await withCleanup({ try await Self.applyTwice(head: head, serve: serve, repo: repo) }, cleanup: {
                try? await RayServing(url: head.url, token: nil, environment: "raydev", artifacts: PathArtifactStore(path: head.store)).remove(environment: "raydev", name: "scorer")
            }) }
        }
    }

    static func applyTwice(head: RayHead.Running, serve: RayHead.Serve, repo: String) async throws {
        do {
            let trueup = ["--repo", repo, "--state-dir", repo + "/.trueup"]

            let began = Date()
            let apply = try await Command.run(Command.trueup, ["apply", "--env", "raydev", "--yes"] + trueup, in: repo)
            let seconds = Date().timeIntervalSince(began)
            print("ray apply: job, model and a RUNNING Serve application in \(String(format: "%.1f", seconds)) s")
            #expect(apply.status == 0, "\(apply.output)")

            // The job is in Ray's own job list with trueup's metadata.
            let jobs = try await head.client().jobs().filter { $0.metadata?["trueup.environment"] == "raydev" }
            #expect(jobs.count == 1)
            #expect(jobs.first?.metadata?["trueup.job"] == "train")
            #expect(jobs.first?.status == "SUCCEEDED")

            // The Serve application answers through Serve's proxy with the model the job trained.
            let status = try await head.client().serveStatus()
            #expect(status.applications["raydev-scorer"]?.status == "RUNNING")
            let response = try #require(await HTTPClient.get("http://127.0.0.1:\(serve.httpPort)/raydev/scorer", timeoutSeconds: 20))
            #expect(response.status == 200)
            #expect(response.body.contains("w=0.7"), "the replica serves the trained model: \(response.body)")
            #expect(status.applications[serve.otherApplication]?.deployedConfig != nil, "another owner's application survives the apply")

            // Re-apply: nothing to do, nothing submitted, nothing redeployed.
            let deployedAt = status.applications["raydev-scorer"]?.lastDeployedTime
            let planBegan = Date()
            let plan = try await Command.run(Command.trueup, ["plan", "--env", "raydev"] + trueup, in: repo)
            print("ray no-op plan: \(String(format: "%.2f", Date().timeIntervalSince(planBegan))) s")
            #expect(plan.status == 0 && plan.output.contains("no changes"), "\(plan.output)")
            let again = try await Command.run(Command.trueup, ["apply", "--env", "raydev", "--yes"] + trueup, in: repo)
            #expect(again.status == 0, "\(again.output)")
            #expect(try await head.client().jobs().filter { $0.metadata?["trueup.environment"] == "raydev" }.count == 1, "re-apply submits nothing")
            #expect(try await head.client().serveStatus().applications["raydev-scorer"]?.lastDeployedTime == deployedAt, "re-apply redeploys nothing")

            // Scaled by hand through the Serve API: the plan shows drift, apply heals it.
            let current = try await head.client().serveStatus()
            try await head.client().putServe(settings: current.settings, applications: current.applications.values.compactMap { app in
                guard app.name == "raydev-scorer", app.status != "DELETING" else { return app.status == "DELETING" ? nil : app.deployedConfig }
                return try? JSONValue.parse(Data((app.deployedConfig?.canonicalJSON ?? "").replacingOccurrences(of: "\"num_replicas\":1", with: "\"num_replicas\":2").utf8))
            })
            let drifted = try await Command.run(Command.trueup, ["plan", "--env", "raydev"] + trueup, in: repo)
            #expect(drifted.status == 2, "\(drifted.output)")
            #expect(drifted.output.contains("Deployment/scorer") && drifted.output.contains("num_replicas 1 -> 2"), "\(drifted.output)")
            let healed = try await Command.run(Command.trueup, ["apply", "--env", "raydev", "--yes"] + trueup, in: repo)
            #expect(healed.status == 0, "\(healed.output)")
            #expect(try await head.client().serveStatus().applications["raydev-scorer"]?.deployedConfig?["deployments"]?.arrayValue?.first?["num_replicas"] == .integer(1))
            let after = try await Command.run(Command.trueup, ["plan", "--env", "raydev"] + trueup, in: repo)
            #expect(after.status == 0 && after.output.contains("no changes"), "\(after.output)")
        }
    }

    /// kill -9 of trueup while its Ray job runs, then a re-apply: the job is adopted, never
    /// submitted twice, and its outputs are used when it finishes.
    @Test func aTrueupKilledWhileItsRayJobRunsIsFollowedByOneSubmission() async throws {
        let head = try await RayHead.shared.running()
        _ = try await RayHead.shared.serve()
        try await ScratchFolder.with("trueup-ray-kill") { scratch in
            let repo = scratch.file("repo")
            let name = UniqueName.make("raykill")
            try Files.write(Self.environment(url: head.url, store: head.store).replacingOccurrences(of: "name: raydev", with: "name: \(name)"),
                            to: repo + "/environments/\(name)/environment.yaml")
            try Files.write(Self.resources, to: repo + "/environments/\(name)/scorer.yaml")
            try Files.write("import time\ntime.sleep(4)\n" + Self.train, to: repo + "/code/train.py")
            try Files.write(RayServingTests.application, to: repo + "/code/scorer_app.py")
            try Files.write(".trueup/\n", to: repo + "/.gitignore")
            for arguments in [["init", "-q", "-b", "main", "."], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "slow job"]] {
                _ = try await Command.run("/usr/bin/git", arguments, in: repo)
            }
            let arguments = ["apply", "--env", name, "--yes", "--repo", repo, "--state-dir", repo + "/.trueup"]
            try await ServeTests.shared.exclusively { try await withCleanup({
                let first = Process()
                first.executableURL = URL(fileURLWithPath: Command.trueup)
                first.arguments = arguments
                first.currentDirectoryURL = URL(fileURLWithPath: repo)
                first.standardOutput = FileHandle.nullDevice
                first.standardError = FileHandle.nullDevice
                try first.run()
                let began = Date()
                while try await head.client().jobs().first(where: { $0.metadata?["trueup.environment"] == name })?.status != "RUNNING" {
                    try #require(Date().timeIntervalSince(began) < 120, "the job never ran on Ray")
                    try await Task.sleep(nanoseconds: 100_000_000)
                }
                kill(first.processIdentifier, SIGKILL)
                first.waitUntilExit()

                let again = try await Command.run(Command.trueup, arguments, in: repo)
                #expect(again.status == 0, "\(again.output)")
                let jobs = try await head.client().jobs().filter { $0.metadata?["trueup.environment"] == name }
                #expect(jobs.count == 1, "one submission: \(jobs.map(\.submission_id))")
                #expect(jobs.first?.status == "SUCCEEDED")
                let response = await HTTPClient.get("http://127.0.0.1:\(try await RayHead.shared.serve().httpPort)/\(name)/scorer", timeoutSeconds: 20)
                #expect(response?.body.contains("w=0.7") == true, "the adopted job's model is served: \(response?.body ?? "nothing answers")")
            }, cleanup: {
                try? await RayServing(url: head.url, token: nil, environment: name, artifacts: PathArtifactStore(path: head.store)).remove(environment: name, name: "scorer")
            }) }
        }
    }

    @Test func rayWithTheLocalArtifactStoreIsRefusedAtValidationSayingWhatToSet() async throws {
        try await ScratchFolder.with("trueup-ray-invalid") { scratch in
            let repo = scratch.file("repo")
            try Files.write(Self.environment(url: "http://127.0.0.1:8265", store: "/unused").replacingOccurrences(of: "  artifacts: {type: path, path: \"/unused\"}\n", with: "").replacingOccurrences(of: "  artifacts: {type: path, path: \"/unused\"}", with: ""),
                            to: repo + "/environments/raydev/environment.yaml")
            try Files.write(Self.resources, to: repo + "/environments/raydev/scorer.yaml")
            try Files.write(Self.train, to: repo + "/code/train.py")
            for arguments in [["init", "-q", "-b", "main", "."], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "x"]] {
                _ = try await Command.run("/usr/bin/git", arguments, in: repo)
            }
            let result = try await Command.run(Command.trueup, ["plan", "--env", "raydev", "--repo", repo, "--state-dir", repo + "/.trueup"], in: repo)
            #expect(result.status != 0)
            #expect(result.output.contains("environments/raydev/environment.yaml"), "\(result.output)")
            #expect(result.output.contains("spec.artifacts"), "\(result.output)")
        }
    }
}

/// A command run to its end, its stdout and stderr together.
enum Command {
    struct Result: Sendable {
        var status: Int32
        var output: String
    }

    static let trueup: String = RayHead.repository + "/.build/debug/trueup"

    /// Runs on a thread of its own, never on the concurrency pool: waiting for a child that
    /// takes a minute there starved every other test of one of the machine's two pool threads
    /// (timed polls in other suites then missed their windows).
    static func run(_ executable: String, _ arguments: [String], in folder: String) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Swift.Result { try runBlocking(executable, arguments, in: folder) }) }.start()
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], in folder: String) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: text)
    }
}
