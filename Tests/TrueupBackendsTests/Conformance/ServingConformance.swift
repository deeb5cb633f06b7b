import Foundation
import Glibc
import Testing
import TrueupCore

/// A serving backend under test.
struct ServingSubject: Sendable {
    /// Returns a new client of one and the same backend each time it is called, as a restarted
    /// trueup would open it.
    var make: @Sendable () async throws -> any ServingBackend
    /// Makes a deployment die behind the backend's back, and returns once it has. By default the
    /// recorded pid gets SIGKILL.
    var kill: @Sendable (DeploymentRecord) async throws -> Void = { record in
        let pid = try #require(record.pid, "the deployment has no pid to kill; give the subject a `kill`")
        Glibc.kill(pid, SIGKILL)
        try await ServingConformance.waitUntilStopped(pid)
    }
}

/// What every `ServingBackend` must do, shown with a tiny Python `http.server` app that
/// `materializeCode` writes. The app records its pid (so the checks can stop whatever is left),
/// answers `/` with its version and `/healthz` with 200 (or 503 when told to be unhealthy).
enum ServingConformance {
    enum Check: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case deployedAppServesAndIsObservedHealthy
        case redeployWithTheSameConfigKeepsTheRunningInstance
        case newConfigStartsTheNewBeforeStoppingTheOld
        case unhealthyUpdateFailsAndThePreviousKeepsServing
        case unhealthyFirstDeployLeavesNothingBehind
        case killedProcessIsReportedByObserve
        case deployRestartsADeadDeployment
        case removeStopsIt

        var testDescription: String { rawValue }
    }

    static func run(_ check: Check, on subject: ServingSubject) async throws {
        switch check {
        case .deployedAppServesAndIsObservedHealthy: try await deployedAppServesAndIsObservedHealthy(subject)
        case .redeployWithTheSameConfigKeepsTheRunningInstance: try await redeployWithTheSameConfigKeepsTheRunningInstance(subject)
        case .newConfigStartsTheNewBeforeStoppingTheOld: try await newConfigStartsTheNewBeforeStoppingTheOld(subject)
        case .unhealthyUpdateFailsAndThePreviousKeepsServing: try await unhealthyUpdateFailsAndThePreviousKeepsServing(subject)
        case .unhealthyFirstDeployLeavesNothingBehind: try await unhealthyFirstDeployLeavesNothingBehind(subject)
        case .killedProcessIsReportedByObserve: try await killedProcessIsReportedByObserve(subject)
        case .deployRestartsADeadDeployment: try await deployRestartsADeadDeployment(subject)
        case .removeStopsIt: try await removeStopsIt(subject)
        }
    }

    static func runAll(on subject: ServingSubject) async throws {
        for check in Check.allCases { try await run(check, on: subject) }
    }

    // MARK: - Checks

    static func deployedAppServesAndIsObservedHealthy(_ subject: ServingSubject) async throws {
        try await withStage(subject) { stage in
            let request = stage.app(version: "v1")
            let record = try await subject.make().deploy(request)
            #expect(record.environment == stage.environment)
            #expect(record.name == stage.name)
            #expect(record.configHash == request.configHash)
            #expect(record.assetVersion == "v1")
            #expect(record.problem == nil)
            #expect(record.healthPath == "/healthz")

            let observed = try #require(try await subject.make().observe(environment: stage.environment)[stage.name])
            #expect(observed.problem == nil, "observed problem: \(observed.problem ?? "")")
            #expect(observed.configHash == request.configHash)
            #expect(observed.endpoint == record.endpoint)
            #expect(await HTTPClient.get(HTTPClient.url(record.endpoint, "/"))?.body == "v1")
            #expect(await HTTPClient.get(HTTPClient.url(record.endpoint, "/healthz"))?.status == 200)
        }
    }

    /// Applying the same desired state again is a no-op: no restart, no second process.
    static func redeployWithTheSameConfigKeepsTheRunningInstance(_ subject: ServingSubject) async throws {
        try await withStage(subject) { stage in
            let first = try await subject.make().deploy(stage.app(version: "v1"))
            let second = try await subject.make().deploy(stage.app(version: "v1"))
            #expect(second.endpoint == first.endpoint)
            #expect(second.pid == first.pid)
            #expect(stage.startedPIDs().count == 1, "the app was started \(stage.startedPIDs().count) times")
        }
    }

    /// The new instance asks the old one for its version while it starts up: if the old one
    /// answers, it was still serving when the new one began, which is the order the contract asks.
    static func newConfigStartsTheNewBeforeStoppingTheOld(_ subject: ServingSubject) async throws {
        try await withStage(subject) { stage in
            let old = try await subject.make().deploy(stage.app(version: "v1"))
            let answerFile = stage.scratch.file("old-answer")
            let new = try await subject.make().deploy(stage.app(version: "v2", variables: [
                "OLD_ENDPOINT": old.endpoint, "OLD_ANSWER_FILE": answerFile,
            ]))
            #expect(Files.read(answerFile) == "v1", "when v2 started, v1 answered: \(Files.read(answerFile) ?? "nothing")")
            #expect(new.configHash != old.configHash)
            #expect(await HTTPClient.get(HTTPClient.url(new.endpoint, "/"))?.body == "v2")
            if let oldPID = old.pid {
                #expect(new.pid != oldPID)
                #expect(!LiveProcess.isRunning(oldPID), "the old instance \(oldPID) still runs")
            }
            if new.endpoint != old.endpoint {
                #expect(await HTTPClient.get(HTTPClient.url(old.endpoint, "/")) == nil, "the old endpoint still answers")
            }
            let observed = try #require(try await subject.make().observe(environment: stage.environment)[stage.name])
            #expect(observed.configHash == new.configHash)
            #expect(observed.assetVersion == "v2")
            #expect(observed.problem == nil)
        }
    }

    static func unhealthyUpdateFailsAndThePreviousKeepsServing(_ subject: ServingSubject) async throws {
        try await withStage(subject) { stage in
            let good = try await subject.make().deploy(stage.app(version: "v1"))
            let bad = stage.app(version: "v2", variables: ["APP_HEALTHY": "0"], healthTimeoutSeconds: 3)
            await #expect(throws: (any Error).self, "an update that never becomes healthy fails") {
                try await subject.make().deploy(bad)
            }
            let observed = try #require(try await subject.make().observe(environment: stage.environment)[stage.name])
            #expect(observed.configHash == good.configHash, "the record still names the version that serves")
            #expect(observed.problem == nil, "observed problem: \(observed.problem ?? "")")
            #expect(await HTTPClient.get(HTTPClient.url(good.endpoint, "/"))?.body == "v1")
            let started = stage.startedPIDs()
            #expect(started.count == 2, "v1 and the unhealthy v2 both started: \(started)")
            for pid in started where pid != good.pid {
                #expect(!LiveProcess.isRunning(pid), "the unhealthy instance \(pid) was left running")
            }
        }
    }

    static func unhealthyFirstDeployLeavesNothingBehind(_ subject: ServingSubject) async throws {
        try await withStage(subject) { stage in
            let bad = stage.app(version: "v1", variables: ["APP_HEALTHY": "0"], healthTimeoutSeconds: 3)
            do {
                _ = try await subject.make().deploy(bad)
                Issue.record("a deployment that never becomes healthy was reported deployed")
            } catch {
                let text = message(of: error)
                #expect(text.contains("/healthz"), "the error names the health check: \(text)")
            }
            // (Bound first: a closure whose only `try` sits inside a macro is inferred non-throwing.)
            let observed = try await subject.make().observe(environment: stage.environment)
            #expect(observed[stage.name] == nil)
            for pid in stage.startedPIDs() {
                #expect(!LiveProcess.isRunning(pid), "the unhealthy instance \(pid) was left running")
            }
        }
    }

    /// A deployment that died is drift: observe must say so.
    static func killedProcessIsReportedByObserve(_ subject: ServingSubject) async throws {
        try await withStage(subject) { stage in
            let record = try await subject.make().deploy(stage.app(version: "v1"))
            try await subject.kill(record)
            let observed = try #require(try await subject.make().observe(environment: stage.environment)[stage.name])
            #expect(observed.problem != nil, "a killed deployment is observed without a problem")
        }
    }

    /// Self-healing: deploying the same config again brings a dead deployment back.
    static func deployRestartsADeadDeployment(_ subject: ServingSubject) async throws {
        try await withStage(subject) { stage in
            let first = try await subject.make().deploy(stage.app(version: "v1"))
            try await subject.kill(first)
            let healed = try await subject.make().deploy(stage.app(version: "v1"))
            #expect(healed.problem == nil)
            #expect(await HTTPClient.get(HTTPClient.url(healed.endpoint, "/"))?.body == "v1")
            let observed = try #require(try await subject.make().observe(environment: stage.environment)[stage.name])
            #expect(observed.problem == nil, "observed problem: \(observed.problem ?? "")")
        }
    }

    static func removeStopsIt(_ subject: ServingSubject) async throws {
        try await withStage(subject) { stage in
            let record = try await subject.make().deploy(stage.app(version: "v1"))
            try await subject.make().remove(environment: stage.environment, name: stage.name)
            #expect(try await subject.make().observe(environment: stage.environment)[stage.name] == nil)
            if let pid = record.pid { #expect(!LiveProcess.isRunning(pid), "the removed deployment's process \(pid) still runs") }
            #expect(await HTTPClient.get(HTTPClient.url(record.endpoint, "/")) == nil, "the removed endpoint still answers")
            // Removing what is gone is fine: apply is retried after crashes.
            try await subject.make().remove(environment: stage.environment, name: stage.name)
        }
    }

    // MARK: - The app and its stage

    /// One deployment name in a fresh environment, with a scratch folder for the app's evidence.
    struct Stage: Sendable {
        let environment: String
        let name: String
        let scratch: ScratchFolder

        var pidFile: String { scratch.file("pids") }

        /// Every pid an instance of the app wrote at start-up, in order.
        func startedPIDs() -> [pid_t] { Files.lines(pidFile).compactMap { pid_t($0) } }

        /// A request for the app at `version`; the config hash covers the version and the variables.
        func app(version: String, variables: [String: String] = [:], healthTimeoutSeconds: Double = 60) -> DeploymentRequest {
            var environment = variables
            environment["APP_VERSION"] = version
            environment["PID_FILE"] = pidFile
            let hashed = environment.filter { $0.key != "OLD_ENDPOINT" && $0.key != "OLD_ANSWER_FILE" }
            let configHash = StableHash.hex(hashed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n"))
            return DeploymentRequest(
                environment: self.environment, name: name, configHash: configHash, assetVersion: version,
                materializeCode: { folder in try Files.write(ServingConformance.appSource, to: (folder as NSString).appendingPathComponent("app.py")) },
                command: ["python3", "app.py"], importPath: nil, environmentVariables: environment,
                healthPath: "/healthz", healthTimeoutSeconds: healthTimeoutSeconds, replicas: 1)
        }
    }

    /// Runs `body` on a fresh stage, then removes the deployment and kills any instance of the app
    /// still running, whatever happened: a check never leaves a process behind.
    static func withStage(_ subject: ServingSubject, _ body: (Stage) async throws -> Void) async throws {
        try await ScratchFolder.with("trueup-serving") { scratch in
            let stage = Stage(environment: UniqueName.make("env"), name: UniqueName.make("svc"), scratch: scratch)
            try await withCleanup {
                try await body(stage)
            } cleanup: {
                try? await subject.make().remove(environment: stage.environment, name: stage.name)
                for pid in stage.startedPIDs() where LiveProcess.isRunning(pid) {
                    Issue.record("instance \(pid) of the app was still running after remove; killed it")
                    Glibc.kill(pid, SIGKILL)
                }
            }
        }
    }

    /// Polls until `pid` has exited (a precondition for the next step, not a timing assertion).
    static func waitUntilStopped(_ pid: pid_t) async throws {
        for _ in 0..<500 where LiveProcess.isRunning(pid) {
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(!LiveProcess.isRunning(pid), "process \(pid) did not exit after SIGKILL")
    }

    static let appSource = #"""
        import http.server, os, sys, urllib.request

        version = os.environ.get("APP_VERSION", "?")
        healthy = os.environ.get("APP_HEALTHY", "1") == "1"
        with open(os.environ["PID_FILE"], "a") as f:
            f.write(f"{os.getpid()}\n")

        # Asked to, report whether the instance this one replaces still answers while this one starts.
        old = os.environ.get("OLD_ENDPOINT")
        if old:
            try:
                answer = urllib.request.urlopen(old + "/", timeout=5).read().decode()
            except Exception as error:
                answer = f"unreachable: {error}"
            with open(os.environ["OLD_ANSWER_FILE"], "w") as f:
                f.write(answer)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/healthz":
                    status, body = (200, "ok") if healthy else (503, "not ready")
                else:
                    status, body = 200, version
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):
                sys.stderr.write("request: " + (format % args) + "\n")

        server = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
        print(f"serving {version} on port {server.server_port}", flush=True)
        server.serve_forever()
        """#
}
