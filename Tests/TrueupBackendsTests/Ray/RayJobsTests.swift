import Foundation
import Testing
import TrueupBackends
import TrueupCore
import TrueupStore

/// The Ray jobs backend against a real head node (`RayHead`): the shared conformance suite, then
/// what only Ray adds. Serialized: the head has two CPUs on a shared machine.
@Suite("Ray jobs on a real head node", .serialized)
struct RayJobConformanceTests {
    @Test(arguments: JobConformance.Check.allCases)
    func conformance(_ check: JobConformance.Check) async throws {
        let head = try await RayHead.shared.running()
        try await LocalState.with { state in
            try await JobConformance.run(check, on: JobSubject(make: { try head.jobs(state) }, scratchRoot: head.scratch))
        }
    }
}

@Suite("Ray jobs: code, outputs, submissions", .serialized)
struct RayJobsTests {
    /// A request whose code is `script` as `job.sh`.
    static func job(_ script: String, environment: String = UniqueName.make("env"), variables: [String: String] = [:],
                    timeoutSeconds: Double = 120, resources: JobResources = JobResources(), materializations: String? = nil) -> JobRunRequest {
        var request = JobConformance.job(environment: environment, name: "train", script: script, variables: variables,
                                          timeoutSeconds: timeoutSeconds, materializations: materializations)
        request.resources = resources
        return request
    }

    @Test func theCodePackageIsByteIdenticalForTheSameTreeAndRayCanUnpackIt() async throws {
        try await ScratchFolder.with("trueup-zip") { scratch in
            for name in ["a", "b"] {
                try Files.write("print('train')\n", to: scratch.file("\(name)/train.py"))
                try Files.write("#!/bin/sh\necho run\n", to: scratch.file("\(name)/bin/run.sh"), executable: true)
                try Files.write("", to: scratch.file("\(name)/empty.txt"))
                // Different timestamps: they must not matter.
                try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: name == "a" ? 1_000 : 2_000_000)], ofItemAtPath: scratch.file("\(name)/train.py"))
            }
            let first = try RayCodePackage.make(codeFolder: scratch.file("a"))
            let second = try RayCodePackage.make(codeFolder: scratch.file("b"))
            #expect(first.zip == second.zip, "same tree, same bytes")
            #expect(first.name == second.name)
            #expect(first.name.hasPrefix("_ray_pkg_") && first.name.hasSuffix(".zip"))
            try Files.write("print('changed')\n", to: scratch.file("b/train.py"))
            #expect(try RayCodePackage.make(codeFolder: scratch.file("b")).name != first.name, "another tree, another package")

            // Python's zipfile (what Ray unpacks with) reads every entry back, with its mode.
            let zipPath = scratch.file("package.zip")
            try first.zip.write(to: URL(fileURLWithPath: zipPath))
            let listing = try Python.run(["-c", """
                import sys, zipfile
                z = zipfile.ZipFile(sys.argv[1])
                assert z.testzip() is None
                for i in z.infolist(): print(i.filename, oct(i.external_attr >> 16), len(z.read(i)))
                """, zipPath])
            #expect(listing.split(separator: "\n").map(String.init) == [
                "\(RayJobRunner.fileName) 0o100644 \(RayJobRunner.source.utf8.count)",
                "bin/run.sh 0o100755 19", "empty.txt 0o100644 0", "train.py 0o100644 15",
            ])
        }
    }

    @Test func theRunnerAndTrueupComputeTheSameDigests() async throws {
        try await ScratchFolder.with("trueup-digest") { scratch in
            try Files.write(RayJobRunner.source, to: scratch.file("runner.py"))
            let root = scratch.file("model")
            try Files.write("{\"weights\": [0.5]}\n", to: root + "/model.json")
            try Files.write("", to: root + "/empty.txt")
            try Files.write("deep\n", to: root + "/nested/deeper/é.txt")
            try Files.write("b\n", to: root + "/B.txt")
            try FileManager.default.createDirectory(atPath: root + "/nested/hollow", withIntermediateDirectories: true)
            for path in [root, root + "/model.json", root + "/nested"] {
                let python = try Python.run([scratch.file("runner.py"), "--digest", path]).trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(python == (try ArtifactDigest.of(path: path)), "digest of \(path)")
            }
        }
    }

    /// Inputs go in as artifact URIs and reach the job as local paths; outputs come back through
    /// the path store with the run's lineage; resources and metadata reach Ray.
    @Test func inputsAndOutputsRoundTripThroughTheSharedStore() async throws {
        let head = try await RayHead.shared.running()
        try await LocalState.with { state in
            try await ScratchFolder.with("trueup-input") { scratch in
                let store = try PathArtifactStore(path: head.store)
                try Files.write("id,label\n1,0\n\(UUID().uuidString)\n", to: scratch.file("features/rows.csv"))
                let input = try await store.put(folder: scratch.file("features"), lineage: nil)
                let request = Self.job("""
                    case "$TRUEUP_INPUT_FEATURES" in /*) ;; *) echo "not a local path: $TRUEUP_INPUT_FEATURES"; exit 9 ;; esac
                    mkdir -p "$TRUEUP_OUTPUT_DIR/model/weights" "$TRUEUP_OUTPUT_DIR/data"
                    cp "$TRUEUP_INPUT_FEATURES/rows.csv" "$TRUEUP_OUTPUT_DIR/data/rows.csv"
                    echo "w=1" > "$TRUEUP_OUTPUT_DIR/model/weights/w.txt"
                    : > "$TRUEUP_OUTPUT_DIR/model/empty"
                    printf '{"auc": 0.9}' > "$TRUEUP_OUTPUT_DIR/metrics.json"
                    echo "run id $TRUEUP_RUN_ID"
                    """, variables: ["TRUEUP_INPUT_FEATURES": input.uri], resources: JobResources(cpus: 0.25, memoryMB: 64))
                let record = try await head.jobs(state).run(request)
                #expect(record.status == .succeeded, "\(record.error ?? "") \(Files.read(record.logPath) ?? "")")
                #expect(record.metrics == ["auc": 0.9])
                let model = try #require(record.outputs["model"])
                let data = try #require(record.outputs["data"])
                #expect(try #require(record.outputs["metrics"]).uri.hasPrefix("file://\(head.store)/sha256/"))
                let modelFolder = try await store.get(model)
                #expect(Files.read(modelFolder + "/weights/w.txt") == "w=1\n")
                #expect(Files.read(modelFolder + "/empty") == "")
                #expect(Files.read(try await store.get(data) + "/rows.csv") == Files.read(scratch.file("features/rows.csv")))
                #expect(try await store.lineage(ofDigest: model.digest).map(\.run) == [request.identity], "the runner recorded the lineage trueup reads")
                #expect(Files.read(record.logPath)?.contains("run id \(request.identity.prefix(16))-1") == true, "the log is copied into trueup's run folder")

                let submissions = try await head.submissions(identity: request.identity)
                #expect(submissions.count == 1)
                #expect(submissions.first?.metadata?["trueup.environment"] == request.environment)
                #expect(submissions.first?.metadata?["trueup.job"] == "train")
                #expect(submissions.first?.metadata?["trueup.commit"] == request.commit)
                // The job details do not echo the reservation; the job's supervisor actor holds it.
                let reserved = try await head.reservedResources(submissionID: RayJobs.submissionID(identity: request.identity, attempt: 1))
                #expect(reserved["CPU"] == 0.25)
                #expect(reserved["memory"] == Double(64 * 1_048_576))
            }
        }
    }

    /// A dataset of the local catalog is a file on trueup's disk only (under /tmp here, which the
    /// head does not see): it is staged into the shared store and reaches the job as a local file.
    @Test func aLocalFileInputIsStagedIntoTheSharedStoreAndReachesTheJobAsAFile() async throws {
        let head = try await RayHead.shared.running()
        try await LocalState.with { state in
            try await ScratchFolder.with("trueup-local-input") { scratch in
                let rows = "id,label\n7,1\n\(UUID().uuidString)\n"
                try Files.write(rows, to: scratch.file("catalog/customers.csv"))
                let request = Self.job("""
                    case "$TRUEUP_INPUT_CUSTOMERS" in */customers.csv) ;; *) echo "not the file: $TRUEUP_INPUT_CUSTOMERS"; exit 9 ;; esac
                    mkdir -p "$TRUEUP_OUTPUT_DIR/data" && cp "$TRUEUP_INPUT_CUSTOMERS" "$TRUEUP_OUTPUT_DIR/data/copy.csv"
                    """, variables: ["TRUEUP_INPUT_CUSTOMERS": scratch.file("catalog/customers.csv")])
                let record = try await head.jobs(state).run(request)
                #expect(record.status == .succeeded, "\(record.error ?? "") \(Files.read(record.logPath) ?? "")")
                let data = try #require(record.outputs["data"])
                #expect(Files.read(try await PathArtifactStore(path: head.store).get(data) + "/copy.csv") == rows)
            }
        }
    }

    @Test func reRunningTheSameIdentitySubmitsNothing() async throws {
        let head = try await RayHead.shared.running()
        try await LocalState.with { state in
            try await ScratchFolder.with("trueup-rerun", under: head.scratch) { scratch in
                let request = Self.job("echo once", materializations: scratch.file("materializations"))
                _ = try await head.jobs(state).run(request)
                let again = try await head.jobs(state).run(request)
                #expect(again.status == .succeeded)
                #expect(try await head.submissions(identity: request.identity).count == 1, "Ray's job list holds one submission")
                #expect(Files.lines(scratch.file("materializations")).count == 1, "the code was packaged once")
            }
        }
    }

    /// A trueup killed while its job runs leaves the attempt recorded as running; the next run
    /// adopts the Ray job (no second submission) and takes its outputs when it finishes.
    @Test func aRunInterruptedWhileTheJobRunsIsAdoptedNotSubmittedAgain() async throws {
        let head = try await RayHead.shared.running()
        try await LocalState.with { state in
            let request = Self.job("""
                sleep 3
                mkdir -p "$TRUEUP_OUTPUT_DIR/model" && echo adopted > "$TRUEUP_OUTPUT_DIR/model/m.txt"
                """)
            let id = RayJobs.submissionID(identity: request.identity, attempt: 1)
            let interrupted = Task { try await head.jobs(state).run(request) }
            while try await head.client().job(id)?.status != "RUNNING" { try await Task.sleep(nanoseconds: 200_000_000) }
            interrupted.cancel()
            _ = await interrupted.result
            #expect(try state.openStore().jobRun(identity: request.identity)?.status == .running, "the interrupted run is left as running")

            let record = try await head.jobs(state).run(request)
            #expect(record.status == .succeeded, "\(record.error ?? "")")
            #expect(try await head.submissions(identity: request.identity).count == 1, "adopted, not submitted again")
            let model = try #require(record.outputs["model"])
            #expect(Files.read(try await PathArtifactStore(path: head.store).get(model) + "/m.txt") == "adopted\n")
        }
    }

    @Test func aTimedOutJobIsStoppedInRay() async throws {
        let head = try await RayHead.shared.running()
        try await LocalState.with { state in
            let request = Self.job("sleep 120", timeoutSeconds: 2)
            let began = Date()
            let record = try await head.jobs(state).run(request)
            #expect(record.status == .failed)
            #expect(record.error?.contains("timed out after 2s") == true, "\(record.error ?? "nil")")
            #expect(Date().timeIntervalSince(began) < 60)
            #expect(try await head.client().job(RayJobs.submissionID(identity: request.identity, attempt: 1))?.status == "STOPPED")
        }
    }

    /// The head node does not see trueup's disk: a path under /tmp that exists here is absent on
    /// the cluster, so a leaked path fails, as on a real cluster.
    @Test func aJobCannotReadTrueupsTemporaryFiles() async throws {
        let head = try await RayHead.shared.running()
        try await LocalState.with { state in
            try await ScratchFolder.with("trueup-leak") { scratch in
                try Files.write("secret\n", to: scratch.file("here.txt"))
                let record = try await head.jobs(state).run(Self.job("cat \(scratch.file("here.txt"))"))
                #expect(record.status == .failed)
                #expect(Files.read(record.logPath)?.contains("No such file") == true, "\(Files.read(record.logPath) ?? "")")
            }
        }
    }

    @Test func theLocalArtifactStoreIsRefusedSayingWhatToSet() async throws {
        try await LocalState.with { state in
            #expect {
                _ = try RayJobs(url: "http://127.0.0.1:8265", token: nil, environment: "staging", store: state.openStore(), paths: state.paths,
                                artifacts: LocalArtifactStore(paths: state.paths))
            } throws: { error in
                let text = message(of: error)
                return text.contains("environment staging") && text.contains("cannot read") && text.contains("spec.artifacts")
            }
            return ()
        }
    }
}

/// Runs the project's Python (the venv Ray lives in).
enum Python {
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RayHead.repository + "/.venv/bin/python")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BackendError("python \(arguments.first ?? "") failed: \(text)") }
        return text
    }
}
