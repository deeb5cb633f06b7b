import Foundation
import Glibc
import Testing
import TrueupCore

/// A job backend under test.
struct JobSubject: Sendable {
    /// Returns a new client of one and the same backend each time it is called, as a restarted
    /// trueup would open it.
    var make: @Sendable () async throws -> any JobBackend
    /// The text of a run's log. By default `logPath` is read as a local file.
    var readLog: @Sendable (JobRunRecord) async throws -> String = { record in
        try String(contentsOfFile: record.logPath, encoding: .utf8)
    }
    /// Where the checks put the files their jobs write (counters, markers): a folder the machines
    /// that run the jobs see too. Nil: the system's temporary directory.
    var scratchRoot: String? = nil
}

/// What every `JobBackend` must do. The job's code is a small shell script that
/// `materializeCode` writes into the folder the backend gives it; the script leaves evidence
/// (counter and marker files in a scratch folder) that the checks read afterwards.
enum JobConformance {
    enum Check: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case reportsMetricsExitCodeAndLog
        case sameIdentityExecutesOnce
        case concurrentRequestsForOneIdentityExecuteOnce
        case failingCommandIsReportedWithItsExitCode
        case failedRunIsTriedAgainOnTheNextRequest
        case retryAfterAFailureSucceedsOnTheSecondAttempt
        case timeoutIsReportedAndLeavesNoProcess
        case observeReturnsTheEnvironmentsRunsByIdentity

        var testDescription: String { rawValue }
    }

    static func run(_ check: Check, on subject: JobSubject) async throws {
        switch check {
        case .reportsMetricsExitCodeAndLog: try await reportsMetricsExitCodeAndLog(subject)
        case .sameIdentityExecutesOnce: try await sameIdentityExecutesOnce(subject)
        case .concurrentRequestsForOneIdentityExecuteOnce: try await concurrentRequestsForOneIdentityExecuteOnce(subject)
        case .failingCommandIsReportedWithItsExitCode: try await failingCommandIsReportedWithItsExitCode(subject)
        case .failedRunIsTriedAgainOnTheNextRequest: try await failedRunIsTriedAgainOnTheNextRequest(subject)
        case .retryAfterAFailureSucceedsOnTheSecondAttempt: try await retryAfterAFailureSucceedsOnTheSecondAttempt(subject)
        case .timeoutIsReportedAndLeavesNoProcess: try await timeoutIsReportedAndLeavesNoProcess(subject)
        case .observeReturnsTheEnvironmentsRunsByIdentity: try await observeReturnsTheEnvironmentsRunsByIdentity(subject)
        }
    }

    static func runAll(on subject: JobSubject) async throws {
        for check in Check.allCases { try await run(check, on: subject) }
    }

    // MARK: - Checks

    static func reportsMetricsExitCodeAndLog(_ subject: JobSubject) async throws {
        try await ScratchFolder.with(under: subject.scratchRoot) { _ in
            let environment = UniqueName.make("env")
            let request = job(environment: environment, name: "train", script: """
                echo "hello from $GREETING"
                echo "a warning on stderr" >&2
                printf '{"accuracy": 0.93, "loss": 0.25, "epochs": 3}' > "$TRUEUP_OUTPUT_DIR/metrics.json"
                """, variables: ["GREETING": "the conformance suite"], inputs: ["data": "sha-of-data"], candidate: "7")
            let record = try await subject.make().run(request)

            #expect(record.status == .succeeded)
            #expect(record.exitCode == 0)
            #expect(record.attempts == 1)
            #expect(record.error == nil)
            #expect(record.metrics == ["accuracy": 0.93, "loss": 0.25, "epochs": 3])
            #expect(record.identity == request.identity)
            #expect(record.environment == environment)
            #expect(record.job == "train")
            #expect(record.commit == request.commit)
            #expect(record.codeTree == request.codeTree)
            #expect(record.inputs == ["data": "sha-of-data"])
            #expect(record.candidate == "7")
            #expect(record.finishedAt != nil)
            #expect(!record.outputLocation.isEmpty)
            let log = try await subject.readLog(record)
            #expect(log.contains("hello from the conformance suite"), "stdout is in the log: \(log)")
            #expect(log.contains("a warning on stderr"), "stderr is in the log: \(log)")

            // What observe reports is what run returned.
            let observed = try await subject.make().observe(environment: environment).run(request.identity)
            #expect(observed?.status == .succeeded)
            #expect(observed?.metrics == record.metrics)
            #expect(observed?.exitCode == 0)
        }
    }

    /// The job runs once per identity: a second request (another client, as after a restart)
    /// returns the recorded run without running the command or writing the code again.
    static func sameIdentityExecutesOnce(_ subject: JobSubject) async throws {
        try await ScratchFolder.with(under: subject.scratchRoot) { scratch in
            let environment = UniqueName.make("env")
            let executions = scratch.file("executions")
            let materializations = scratch.file("materializations")
            let request = job(environment: environment, name: "prepare", script: """
                echo ran >> "$COUNTER_FILE"
                printf '{"rows": 10}' > "$TRUEUP_OUTPUT_DIR/metrics.json"
                """, variables: ["COUNTER_FILE": executions], materializations: materializations)

            let first = try await subject.make().run(request)
            let second = try await subject.make().run(request)
            #expect(first.status == .succeeded)
            #expect(second.status == .succeeded)
            #expect(second.identity == first.identity)
            #expect(second.metrics == ["rows": 10])
            #expect(Files.lines(executions).count == 1, "the command ran \(Files.lines(executions).count) times")
            #expect(Files.lines(materializations).count == 1, "the code is written only when the job really runs")
            #expect(try await subject.make().observe(environment: environment).identities().count == 1)
        }
    }

    /// Two appliers asking for the same run at the same moment still get one execution.
    static func concurrentRequestsForOneIdentityExecuteOnce(_ subject: JobSubject) async throws {
        try await ScratchFolder.with(under: subject.scratchRoot) { scratch in
            let environment = UniqueName.make("env")
            let executions = scratch.file("executions")
            // Slow to write its code and slow to run, so each request arrives while the other is
            // still at it (the check asserts no timing; the pauses only make the overlap likely).
            let request = job(environment: environment, name: "prepare", script: """
                echo ran >> "$COUNTER_FILE"
                sleep 1
                """, variables: ["COUNTER_FILE": executions], materializeDelaySeconds: 0.5)
            let (a, b) = (try await subject.make(), try await subject.make())
            async let first = a.run(request)
            async let second = b.run(request)
            let results = try await [first, second]
            #expect(results.map(\.status) == [.succeeded, .succeeded])
            #expect(Files.lines(executions).count == 1, "the command ran \(Files.lines(executions).count) times")
        }
    }

    static func failingCommandIsReportedWithItsExitCode(_ subject: JobSubject) async throws {
        let environment = UniqueName.make("env")
        let request = job(environment: environment, name: "evaluate", script: """
            echo "about to fail"
            exit 3
            """)
        let record = try await subject.make().run(request)
        #expect(record.status == .failed)
        #expect(record.exitCode == 3)
        #expect(record.attempts == 1)
        #expect(record.error?.contains("3") == true, "the error names the exit code: \(record.error ?? "nil")")
        #expect(try await subject.readLog(record).contains("about to fail"))
        #expect(try await subject.make().observe(environment: environment).run(request.identity)?.status == .failed)
    }

    /// `JobBackend.run`: "Runs the job unless a run with this identity already succeeded". The
    /// planner relies on it ("its last run with this identity failed: trying again").
    static func failedRunIsTriedAgainOnTheNextRequest(_ subject: JobSubject) async throws {
        try await ScratchFolder.with(under: subject.scratchRoot) { scratch in
            let environment = UniqueName.make("env")
            let executions = scratch.file("executions")
            let request = job(environment: environment, name: "flaky", script: failsFirstTime, variables: [
                "COUNTER_FILE": executions, "MARKER_FILE": scratch.file("marker"),
            ])
            let first = try await subject.make().run(request)
            #expect(first.status == .failed)
            let second = try await subject.make().run(request)
            #expect(second.status == .succeeded, "a failed identity asked for again runs again: \(second.error ?? "")")
            #expect(Files.lines(executions).count == 2, "the command ran \(Files.lines(executions).count) times")
        }
    }

    static func retryAfterAFailureSucceedsOnTheSecondAttempt(_ subject: JobSubject) async throws {
        try await ScratchFolder.with(under: subject.scratchRoot) { scratch in
            let environment = UniqueName.make("env")
            let executions = scratch.file("executions")
            let request = job(environment: environment, name: "flaky", script: failsFirstTime, variables: [
                "COUNTER_FILE": executions, "MARKER_FILE": scratch.file("marker"),
            ], retries: 2)
            let record = try await subject.make().run(request)
            #expect(record.status == .succeeded)
            #expect(record.attempts == 2)
            #expect(record.exitCode == 0)
            #expect(record.error == nil)
            #expect(Files.lines(executions) == ["failed", "succeeded"])
            #expect(try await subject.readLog(record).contains("second time lucky"), "the log is the successful attempt's")
        }
    }

    /// At the timeout the job and everything it started are killed, and the run says why.
    static func timeoutIsReportedAndLeavesNoProcess(_ subject: JobSubject) async throws {
        try await ScratchFolder.with(under: subject.scratchRoot) { scratch in
            let environment = UniqueName.make("env")
            let pids = scratch.file("pids")
            let request = job(environment: environment, name: "slow", script: """
                echo $$ >> "$PID_FILE"
                sleep 300 &
                echo $! >> "$PID_FILE"
                wait
                """, variables: ["PID_FILE": pids], timeoutSeconds: 3)
            let record = try await subject.make().run(request)
            #expect(record.status == .failed)
            let error = record.error?.lowercased() ?? ""
            #expect(error.contains("timed out") || error.contains("timeout"), "the error says it timed out: \(record.error ?? "nil")")
            let started = Files.lines(pids).compactMap { pid_t($0) }
            try #require(!started.isEmpty, "the job never started")
            for pid in started {
                #expect(!LiveProcess.isRunning(pid), "process \(pid) of the timed-out job still runs")
            }
            #expect(try await subject.make().observe(environment: environment).run(request.identity)?.status == .failed)
        }
    }

    static func observeReturnsTheEnvironmentsRunsByIdentity(_ subject: JobSubject) async throws {
        let (here, there) = (UniqueName.make("env"), UniqueName.make("env"))
        let backend = try await subject.make()
        let a = job(environment: here, name: "prepare", script: "echo a")
        let b = job(environment: here, name: "train", script: "exit 1")
        let c = job(environment: there, name: "prepare", script: "echo c")
        // The same job again with other inputs (a later commit): the earlier run stays findable.
        let later = job(environment: here, name: "prepare", script: "echo a, later")
        for request in [a, b, c, later] { _ = try await backend.run(request) }

        let observed = try await subject.make().observe(environment: here)
        #expect(try observed.identities() == [a.identity, b.identity, later.identity])
        #expect(try observed.run(a.identity)?.identity == a.identity)
        #expect(try observed.run(a.identity)?.job == "prepare")
        #expect(try observed.run(a.identity)?.status == .succeeded)
        #expect(try observed.run(later.identity)?.identity == later.identity)
        #expect(try observed.run(later.identity)?.status == .succeeded)
        #expect(try observed.run(c.identity) == nil, "a run of another environment")
        #expect(try observed.run("an-identity-that-never-ran") == nil)
        #expect(try observed.run(b.identity)?.job == "train")
        #expect(try observed.run(b.identity)?.status == .failed)
        #expect(try await subject.make().observe(environment: there).identities() == [c.identity])
        #expect(try await subject.make().observe(environment: UniqueName.make("env")).identities().isEmpty)

        // What the controller sends for `diff --server`: each job's latest run in full, the
        // earlier run by identity only.
        let sent = try observed.sent()
        #expect(Set(sent.latest.keys) == [b.identity, later.identity])
        #expect(sent.latest[later.identity]?.status == .succeeded)
        #expect(sent.earlier == [a.identity])
    }

    // MARK: - Helpers

    /// Appends `failed` or `succeeded` to `$COUNTER_FILE`; fails unless `$MARKER_FILE` exists, and leaves it.
    static let failsFirstTime = """
        if [ -e "$MARKER_FILE" ]; then
            echo succeeded >> "$COUNTER_FILE"
            echo "second time lucky"
            exit 0
        fi
        touch "$MARKER_FILE"
        echo failed >> "$COUNTER_FILE"
        echo "first attempt fails"
        exit 1
        """

    /// A request whose code is `script` as `job.sh`, run with `sh job.sh`. When `materializations`
    /// is given, each call to `materializeCode` appends a line to it; `materializeDelaySeconds` makes
    /// writing the code slow, like a large code tree.
    static func job(
        environment: String, name: String, script: String, variables: [String: String] = [:],
        inputs: [String: String] = [:], candidate: String? = nil, timeoutSeconds: Double = 120, retries: Int = 0,
        materializations: String? = nil, materializeDelaySeconds: Double = 0
    ) -> JobRunRequest {
        let identity = UniqueName.make("run") + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        return JobRunRequest(
            identity: identity, environment: environment, job: name, commit: String(repeating: "c0ffee", count: 6) + "abcd",
            codeTree: String(repeating: "7ree", count: 10),
            materializeCode: { folder in
                try Files.write("set -u\n" + script + "\n", to: (folder as NSString).appendingPathComponent("job.sh"))
                if let materializations { try Files.append("materialized\n", to: materializations) }
                if materializeDelaySeconds > 0 { usleep(useconds_t(materializeDelaySeconds * 1_000_000)) }
            },
            command: ["sh", "job.sh"], environmentVariables: variables, inputs: inputs, candidate: candidate,
            timeoutSeconds: timeoutSeconds, retries: retries)
    }
}

extension Files {
    static func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }
}

extension JobRunHistory {
    /// Every identity the history has a run for, as the controller's API sends them: each job's
    /// latest run and the earlier ones.
    func identities() throws -> Set<String> {
        let sent = try sent()
        return Set(sent.latest.keys).union(sent.earlier)
    }
}
