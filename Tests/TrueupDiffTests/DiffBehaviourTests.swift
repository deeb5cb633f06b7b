import Foundation
import Testing
import TrueupCore

// MARK: - A huge change: the Markdown is cut, the JSON is not

extension TrueupDiffTests {
    @Suite struct Truncation {
        @Test("400 new resources in a base: Markdown <= 60,000 characters with a cut note, JSON complete and valid")
        func hugeChange() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            let count = 400
            let jobs = (0..<count).map { i in
                """
                apiVersion: trueup/v1
                kind: Job
                metadata:
                  name: backfill-\(String(format: "%03d", i))
                  labels: {team: growth, purpose: backfill}
                spec:
                  code: examples/churn
                  command: [python3, prepare.py, --shard, "\(i)", --of, "\(count)"]
                  inputs:
                    datasets: [customers]
                  timeout: 20m

                """
            }
            try fixture.write("environments/backfill/jobs.yaml", jobs.joined(separator: "---\n"))
            try fixture.edit("environments/dev/environment.yaml", replacing: "extends: [base]", with: "extends: [base, backfill]")
            try await fixture.commit("dev: backfill features in 400 shards")

            let markdown = try await fixture.diff("markdown")
            #expect(markdown.status == 2)
            let text = markdown.stdout
            #expect(DiffRenderer.markdownLimit == 60_000)
            #expect(text.count <= 60_000)
            #expect(text.unicodeScalars.count <= 60_000, "even counted in code points")
            #expect(text.utf16.count <= 65_536, "under GitHub's limit however it counts")
            #expect(text.hasPrefix(DiffRenderer.marker + "\n"))
            #expect(text.contains("Details were cut"), "the cut says so")
            #expect(text.contains("--format json"), "and points to the JSON output")
            for env in ["dev", "prod", "staging"] {
                #expect(text.contains("| `\(env)` |"), "every environment keeps its summary row: \(env)")
            }

            let (json, report) = try await fixture.jsonReport()
            #expect(json.status == 2)
            let dev = try #require(report.environment("dev"))
            let added = Set(dev.desiredChanges.filter { $0["change"] as? String == "added" }.compactMap { $0["resource"] as? String })
            let expected = Set((0..<count).map { "Job/backfill-\(String(format: "%03d", $0))" })
            #expect(added == expected, "the JSON has every new resource: \(expected.subtracting(added).sorted().prefix(5))")
            let planned = Set(dev.planChanges.compactMap { $0["resource"] as? String })
            #expect(planned.isSuperset(of: expected), "and every one of them in the plan")
            #expect(((dev["summary"] as? [String: Any])?["jobRuns"] as? Int ?? 0) >= count)
            #expect(report.environment("staging")?.desiredChanges.isEmpty == true, "only dev extends the new base")
            try await SchemaCheck.expectValid(json.stdout, scratch: fixture.scratch)

            // The text rendering is for people at a terminal: never cut.
            let plain = try await fixture.diff("text")
            #expect(expected.allSatisfy { plain.stdout.contains($0) })
        }
    }
}

// MARK: - Secrets never appear

extension TrueupDiffTests {
    @Suite struct Secrets {
        static let canary = "canary-8c1f4e2a9b7d4c3e8f1a2b3c4d5e6f70"

        @Test("a token named by tokenFromEnv appears in no output format")
        func canaryNeverPrinted() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            try fixture.write("environments/research/environment.yaml", """
                apiVersion: trueup/v1
                kind: Environment
                metadata:
                  name: research
                spec:
                  extends: [base]
                  sync: manual
                  backends:
                    registry: {type: mlflow, url: "http://127.0.0.1:9", tokenFromEnv: MLFLOW_TOKEN}
                  variables:
                    epochs: 10
                    learningRate: 0.1

                """)
            try await fixture.commit("research: an environment on the team's MLflow")
            let secret = ["MLFLOW_TOKEN": Self.canary, "TRUEUP_API_TOKEN": Self.canary]
            // Every run that includes research spends about 20 s finding its MLflow down (the
            // client's retries), so the nine runs go at once.
            let (repo, scratch) = (fixture.repo, fixture.scratch)
            let environment = fixture.baseEnvironment.merging(secret) { _, new in new }
            let runs = ["text", "json", "markdown"].flatMap { format in ([nil, "research", "dev"] as [String?]).map { (format, $0) } }
            let outputs = try await withThrowingTaskGroup(of: (String, String?, ProcessResult).self) { group in
                for (format, env) in runs {
                    group.addTask {
                        let arguments = [TrueupBinary.path] + DiffFixture.diffArguments(format, env: env)
                        return (format, env, try await runProcess(arguments, in: repo, environment: environment, scratch: scratch))
                    }
                }
                var outputs: [ProcessResult] = []
                for try await (format, env, result) in group {
                    outputs.append(result)
                    #expect(!result.all.contains(Self.canary), "\(format) --env \(env ?? "(all)") printed the token")
                    #expect(!result.all.contains("8c1f4e2a9b7d"), "not even a part of it")
                    #expect(!result.stderr.contains("Fatal error"), "no crash")
                }
                return outputs
            }
            #expect(outputs.count == runs.count)
            // The token is not written anywhere either.
            #expect(!(try stateContains(fixture, Self.canary)))

            // An environment whose backend this build lacks makes diff exit 1 (it does not crash)...
            #expect(outputs.filter { $0.status == 1 }.count == 6, "every run that includes research exits 1")
            // ...and says so for that environment, with the other environments reported beside it.
            let (whole, report) = try await fixture.jsonReport(environment: secret)
            let research = try #require(report.environment("research"))
            #expect(research["status"] as? String == "unobserved")
            #expect((research["errors"] as? [String] ?? []).contains { $0.contains("mlflow") }, "\(research)")
            #expect(report.environment("dev")?["status"] as? String == "valid")
            #expect(whole.status == 1)
            try await SchemaCheck.expectValid(whole.stdout, scratch: fixture.scratch)
        }

        func stateContains(_ fixture: DiffFixture, _ needle: String) throws -> Bool {
            guard let files = FileManager.default.enumerator(atPath: fixture.stateDirectory) else { return false }
            for case let file as String in files {
                let path = fixture.stateDirectory + "/" + file
                if let data = FileManager.default.contents(atPath: path), data.range(of: Data(needle.utf8)) != nil { return true }
            }
            return false
        }
    }
}

// MARK: - Safety: reads only

extension TrueupDiffTests {
    @Suite struct Safety {
        @Test("diff runs no code from the head commit and leaves the state byte-identical")
        func noCodeRunsNothingWritten() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            let markers = fixture.scratch + "/markers"
            try FileManager.default.createDirectory(atPath: markers, withIntermediateDirectories: true)
            // Every program of the examples would leave a marker file the moment Python imports it.
            let programs = ["examples/churn/prepare.py", "examples/churn/train.py", "examples/churn/evaluate.py",
                            "examples/churn/churnlib.py", "examples/churn/serve/serve.py",
                            "examples/support/eval_prompt.py", "examples/support/serve/serve.py"]
            for program in programs {
                let name = program.replacingOccurrences(of: "/", with: "_")
                let original = try fixture.read(program)
                try fixture.write(program, "import pathlib; pathlib.Path(\(String(reflecting: markers + "/" + name))).touch()\n" + original)
            }
            try await fixture.commit("every program leaves a marker when run")
            // Control: running one of them does leave its marker (else this test could not fail).
            let control = try await runProcess(["python3", "-c", "import sys; sys.path.insert(0, 'examples/churn'); import churnlib"],
                                         in: fixture.repo, environment: fixture.baseEnvironment, scratch: fixture.scratch)
            #expect(control.status == 0, "\(control.stderr)")
            let controlMarker = markers + "/examples_churn_churnlib.py"
            #expect(FileManager.default.fileExists(atPath: controlMarker), "the marker mechanism works")
            try? FileManager.default.removeItem(atPath: controlMarker)

            let serversBefore = try fixture.recordedServers()
            let before = try stateSnapshot(fixture)
            #expect(!serversBefore.isEmpty, "the fixture's apply started servers")
            for format in ["text", "json", "markdown"] {
                for env in [nil, "dev", "staging"] as [String?] {
                    let result = try await fixture.diff(format, env: env)
                    #expect(result.status == 2, "the changed code is reported: \(result.stderr)")
                }
            }
            let planned = try await fixture.jsonReport(env: "dev").1.environment("dev")
            #expect(planned?.planned("Job/prepare-features")?["action"] as? String == "run", "the changed job would run on apply")

            #expect(try FileManager.default.contentsOfDirectory(atPath: markers).isEmpty, "no program of the head commit ran")
            let after = try stateSnapshot(fixture)
            #expect(after["state.db"] == before["state.db"], "state.db is byte-identical")
            if let wal = before["state.db-wal"] {
                #expect(after["state.db-wal"] == wal, "state.db-wal is byte-identical")
            } else if let wal = after["state.db-wal"] {
                // SQLite may create an empty WAL when it opens the database, even read-only.
                #expect(wal == Self.emptyDigest, "no WAL content written by diff")
            }
            let others = { (s: [String: String]) in s.filter { !$0.key.hasPrefix("state.db") } }
            #expect(others(after) == others(before), "no other file of the state directory changed: \(Set(others(after).keys).symmetricDifference(others(before).keys).sorted())")
            for (pid, start) in serversBefore {
                #expect(processStatus(pid)?.startTime == start && processStatus(pid)?.running == true, "server \(pid) still runs, untouched")
            }
        }

        static let emptyDigest = "0:"

        /// Every file under the state directory: relative path -> size and content.
        func stateSnapshot(_ fixture: DiffFixture) throws -> [String: String] {
            var snapshot: [String: String] = [:]
            guard let files = FileManager.default.enumerator(atPath: fixture.stateDirectory) else { return [:] }
            for case let file as String in files {
                let path = fixture.stateDirectory + "/" + file
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                      file != "state.db-shm" else { continue }
                // Logs of the servers the apply started keep growing while they run.
                if file.hasSuffix(".log") { continue }
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                snapshot[file] = "\(data.count):" + data.base64EncodedString()
            }
            return snapshot
        }
    }
}

// MARK: - Exit codes

extension TrueupDiffTests {
    @Suite struct ExitCodes {
        @Test("0 when nothing changes, 2 when something would, 1 for an invalid head or a bad revision")
        func exitCodes() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            // Same revision, applied environment: nothing to do.
            let same = try await fixture.diff("text", env: "dev", head: "base")
            #expect(same.status == 0, "\(same.all)")
            #expect(same.stdout.contains("dev: nothing to change, no drift"))
            let sameMarkdown = try await fixture.diff("markdown", env: "dev", head: "base")
            #expect(sameMarkdown.status == 0)
            #expect(sameMarkdown.stdout.contains("✅ in sync"))

            // A commit that only edits a comment changes nothing.
            try fixture.edit("environments/dev/environment.yaml", replacing: "# dev: every commit", with: "# dev (the team's sandbox): every commit")
            try await fixture.commit("dev: reword a comment")
            for format in ["text", "json", "markdown"] {
                #expect(try await fixture.diff(format, env: "dev").status == 0, "\(format)")
            }

            // A real change: 2.
            try fixture.edit("environments/dev/environment.yaml", replacing: "epochs: 50", with: "epochs: 60")
            try await fixture.commit("dev: train longer")
            for format in ["text", "json", "markdown"] {
                #expect(try await fixture.diff(format, env: "dev").status == 2, "\(format)")
            }

            // An invalid head: 1, in every format, with the report still printed.
            try fixture.write("environments/dev/extra.yaml", "apiVersion: trueup/v1\nkind: Job\nmetadata: {name: broken\n")
            try await fixture.commit("dev: unterminated flow mapping")
            for format in ["text", "json", "markdown"] {
                let result = try await fixture.diff(format, env: "dev")
                #expect(result.status == 1, "\(format)")
                #expect(result.stdout.contains("environments/dev/extra.yaml:"), "\(format) says where")
            }
            let whole = try await fixture.diff("text")
            #expect(whole.status == 1, "one invalid environment makes the whole report exit 1")

            // An unknown revision: 1, with an error and no report.
            let unknown = try await fixture.diff("markdown", base: "no-such-branch")
            #expect(unknown.status == 1)
            #expect(unknown.stdout.isEmpty)
            #expect(unknown.stderr.contains("no-such-branch"))
        }
    }
}

// MARK: - The schema is not a rubber stamp

extension TrueupDiffTests {
    @Suite struct SchemaDocument {
        @Test("reports that break the documented format are rejected")
        func schemaRejectsBrokenReports() async throws {
            let fixture = try await DiffFixture()
            defer { fixture.close() }
            try fixture.edit("environments/dev/environment.yaml", replacing: "epochs: 50", with: "epochs: 60")
            try await fixture.commit("dev: train longer")
            let (json, report) = try await fixture.jsonReport()
            try await SchemaCheck.expectValid(json.stdout, scratch: fixture.scratch)

            func mutated(_ change: (inout [String: Any]) -> Void) throws -> String {
                var copy = report
                change(&copy)
                return String(decoding: try JSONSerialization.data(withJSONObject: copy), as: UTF8.self)
            }
            func firstEnvironment(_ change: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
                { report in
                    var environments = report["environments"] as! [[String: Any]]
                    change(&environments[0])
                    report["environments"] = environments
                }
            }
            let broken: [(String, (inout [String: Any]) -> Void)] = [
                ("no formatVersion", { $0["formatVersion"] = nil }),
                ("a short commit", { $0["head"] = ["revision": "HEAD", "commit": "1219095b5b32"] }),
                ("an unknown member", { $0["generatedBy"] = "someone" }),
                ("no summary", firstEnvironment { $0["summary"] = nil }),
                ("an unknown status", firstEnvironment { $0["status"] = "broken" }),
                ("a negative count", firstEnvironment { env in
                    var summary = env["summary"] as! [String: Any]
                    summary["actions"] = -1
                    env["summary"] = summary
                }),
                ("an unknown action", firstEnvironment { env in
                    var plan = env["plan"] as! [String: Any]
                    var changes = plan["changes"] as! [[String: Any]]
                    changes[0]["action"] = "explode"
                    plan["changes"] = changes
                    env["plan"] = plan
                }),
                ("a resource that is not Kind/name", firstEnvironment { env in
                    var plan = env["plan"] as! [String: Any]
                    var changes = plan["changes"] as! [[String: Any]]
                    changes[0]["resource"] = "customers"
                    plan["changes"] = changes
                    env["plan"] = plan
                }),
                ("an invalid environment with a plan", firstEnvironment { $0["status"] = "invalid"; $0["errors"] = ["f.yaml:1:1: bad"] }),
                ("a valid environment with errors", firstEnvironment { $0["errors"] = ["f.yaml:1:1: bad"] }),
            ]
            for (what, change) in broken {
                let problems = try await SchemaCheck.problems(try mutated(change), scratch: fixture.scratch)
                #expect(!problems.isEmpty, "the schema accepts a report with \(what)")
            }
        }
    }
}

// `--server` is tested against a real controller in TrueupControllerTests
// (theAPITokenIsEnforcedAndTrueupDiffReadsStateFromTheController).
