import Foundation
import Testing
import TrueupBackends
import TrueupCore
import TrueupStore

/// What only the local backends promise, beyond the shared conformance suite: where files live
/// under the state directory, the job contract's variables, and picking up after a killed trueup.
@Suite struct LocalBackendTests {
    // MARK: - Registry

    @Test func aLocalModelFolderIsCopiedIntoTheStateDirectory() async throws {
        try await LocalState.with { state in
            try await ScratchFolder.with { scratch in
                let source = try RegistryConformance.modelFolder(in: scratch, "trained")
                let registry = LocalRegistry(store: try state.openStore(), paths: state.paths)
                let info = try await registry.registerModelVersion(ModelRegistration(model: "churn", sourceLocation: source, idempotencyKey: "run-1", tags: [:]))
                #expect(info.location.hasPrefix(state.folder.path + "/"), "the version lives in the state directory: \(info.location)")
                #expect(info.location != source)
                // The job's scratch folder goes away; the version stays.
                try FileManager.default.removeItem(atPath: source)
                #expect(Files.read((info.location as NSString).appendingPathComponent("model.bin")) == "weights of trained\n")
                #expect(Files.read((info.location as NSString).appendingPathComponent("config.json")) != nil)
            }
        }
    }

    @Test func anArtifactURIIsRecordedAsIs() async throws {
        try await LocalState.with { state in
            let registry = LocalRegistry(store: try state.openStore(), paths: state.paths)
            let info = try await registry.registerModelVersion(ModelRegistration(
                model: "churn", sourceLocation: "s3://models/churn/7", idempotencyKey: "artifact-7", tags: ["trueup.source": "artifact"]))
            #expect(info.location == "s3://models/churn/7")
            #expect(info.source == "artifact")
        }
    }

    // MARK: - Data catalog

    @Test func datasetsAreStoredContentAddressedUnderTheStateDirectory() async throws {
        try await LocalState.with { state in
            try await ScratchFolder.with { scratch in
                let catalog = LocalDataCatalog(store: try state.openStore(), paths: state.paths)
                let source = try DataConformance.file(DataConformance.sample, in: scratch, "labels.csv")
                let version = try await catalog.register(DatasetRegistration(environment: "dev", name: "labels", sourcePath: source, expectedSHA256: nil, producingRun: nil))
                #expect(version.location == state.folder.path + "/data/\(DataConformance.sampleSHA256)/labels.csv")
                #expect(Files.read(version.location) == DataConformance.sample)

                // The same content in another environment shares the stored file.
                let again = try await catalog.register(DatasetRegistration(environment: "prod", name: "labels", sourcePath: source, expectedSHA256: nil, producingRun: nil))
                #expect(again.location == version.location)
            }
        }
    }

    @Test func aStoredFileThatVanishedIsReportedMissing() async throws {
        try await LocalState.with { state in
            try await ScratchFolder.with { scratch in
                let catalog = LocalDataCatalog(store: try state.openStore(), paths: state.paths)
                let version = try await catalog.register(DatasetRegistration(
                    environment: "dev", name: "labels", sourcePath: try DataConformance.file(DataConformance.sample, in: scratch, "labels.csv"),
                    expectedSHA256: nil, producingRun: nil))
                try FileManager.default.removeItem(atPath: version.location)
                let problem = try await catalog.observe(environment: "dev")["labels"]?.problem
                #expect(problem?.contains("missing") == true, "problem: \(problem ?? "nil")")
                #expect(problem?.contains(version.location) == true, "the problem names the file: \(problem ?? "nil")")
            }
        }
    }

    /// A folder of several files is one version: the hash of its files' names and contents.
    @Test func aFolderOfSeveralFilesIsOneVersionAndEditsInsideAreReported() async throws {
        try await LocalState.with { state in
            try await ScratchFolder.with { scratch in
                let catalog = LocalDataCatalog(store: try state.openStore(), paths: state.paths)
                _ = try DataConformance.file(DataConformance.sample, in: scratch, "shards/part-0.csv")
                _ = try DataConformance.file(DataConformance.extended, in: scratch, "shards/part-1.csv")
                let source = scratch.file("shards")
                let version = try await catalog.register(DatasetRegistration(environment: "dev", name: "shards", sourcePath: source, expectedSHA256: nil, producingRun: nil))
                #expect(version.version.count == 64)
                #expect(version.version != DataConformance.sampleSHA256 && version.version != DataConformance.extendedSHA256)
                #expect(try await catalog.observe(environment: "dev")["shards"]?.problem == nil)

                // The same files elsewhere give the same version; one renamed file gives another.
                _ = try DataConformance.file(DataConformance.sample, in: scratch, "copy/part-0.csv")
                _ = try DataConformance.file(DataConformance.extended, in: scratch, "copy/part-1.csv")
                let copy = try await catalog.register(DatasetRegistration(environment: "dev", name: "copy", sourcePath: scratch.file("copy"), expectedSHA256: nil, producingRun: nil))
                #expect(copy.version == version.version)
                _ = try DataConformance.file(DataConformance.sample, in: scratch, "renamed/part-0.csv")
                _ = try DataConformance.file(DataConformance.extended, in: scratch, "renamed/part-2.csv")
                let renamed = try await catalog.register(DatasetRegistration(environment: "dev", name: "renamed", sourcePath: scratch.file("renamed"), expectedSHA256: nil, producingRun: nil))
                #expect(renamed.version != version.version)

                try Files.write("tampered\n", to: (version.location as NSString).appendingPathComponent("part-1.csv"))
                #expect(try await catalog.observe(environment: "dev")["shards"]?.problem != nil)
            }
        }
    }

    // MARK: - Jobs

    /// The job contract: it runs in its code folder, writes to `$TRUEUP_OUTPUT_DIR`, knows its
    /// run id, and gets the request's variables.
    @Test func aJobRunsInItsCodeFolderWithTheContractsVariables() async throws {
        try await LocalState.with { state in
            let jobs = LocalJobs(store: try state.openStore(), paths: state.paths)
            let request = JobRunRequest(
                identity: "identity-0123456789abcdef", environment: "dev", job: "train", commit: "c", codeTree: "t",
                materializeCode: { folder in
                    try Files.write("echo \"cwd=$(pwd)\"\necho \"data=$(cat data.txt)\"\necho \"run=$TRUEUP_RUN_ID\"\necho \"input=$TRUEUP_INPUT_RAW\"\nmkdir -p \"$TRUEUP_OUTPUT_DIR/model\"\necho w > \"$TRUEUP_OUTPUT_DIR/model/weights\"\n",
                                    to: (folder as NSString).appendingPathComponent("job.sh"))
                    try Files.write("shipped with the code", to: (folder as NSString).appendingPathComponent("data.txt"))
                },
                command: ["sh", "job.sh"], environmentVariables: ["TRUEUP_INPUT_RAW": "/data/raw.csv"], inputs: [:], candidate: nil,
                timeoutSeconds: 60, retries: 0)
            let record = try await jobs.run(request)
            #expect(record.status == .succeeded)
            let log = try String(contentsOfFile: record.logPath, encoding: .utf8)
            #expect(log.contains("data=shipped with the code"), "\(log)")
            #expect(log.contains("cwd=\(state.paths.jobRun(request.identity))/code"), "\(log)")
            #expect(log.contains("run=identity-0123456"), "\(log)")
            #expect(log.contains("input=/data/raw.csv"), "\(log)")
            #expect(record.outputLocation.hasPrefix(state.paths.jobRun(request.identity)))
            #expect(Files.read((record.outputLocation as NSString).appendingPathComponent("model/weights")) == "w\n")
        }
    }

    @Test func metricsThatAreNotAFlatObjectOfNumbersFailTheRun() async throws {
        try await LocalState.with { state in
            let jobs = LocalJobs(store: try state.openStore(), paths: state.paths)
            let request = JobConformance.job(environment: "dev", name: "train", script: """
                printf 'accuracy: 0.9' > "$TRUEUP_OUTPUT_DIR/metrics.json"
                """)
            let record = try await jobs.run(request)
            #expect(record.status == .failed)
            #expect(record.exitCode == 0)
            #expect(record.error?.contains("metrics.json") == true, "the error names the file: \(record.error ?? "nil")")
        }
    }

    /// A trueup killed while its job ran leaves the run folder behind with the job's result in it:
    /// the next trueup takes that result and runs nothing.
    @Test func aRunFinishedAfterItsStarterDiedIsAdoptedNotRunAgain() async throws {
        try await LocalState.with { state in
            try await ScratchFolder.with { scratch in
                let executions = scratch.file("executions")
                let request = JobConformance.job(environment: "dev", name: "train", script: "echo ran >> \"$COUNTER_FILE\"",
                                                 variables: ["COUNTER_FILE": executions], materializations: scratch.file("materializations"))
                let attempt = try Self.leftBehind(request, state: state, files: ["started": "4242\n", "exit_code": "0\n"],
                                                  metrics: #"{"accuracy": 0.8}"#)
                let record = try await LocalJobs(store: try state.openStore(), paths: state.paths).run(request)
                #expect(record.status == .succeeded)
                #expect(record.metrics == ["accuracy": 0.8])
                #expect(record.attempts == 1)
                #expect(record.logPath.hasPrefix(attempt))
                #expect(Files.lines(executions).isEmpty, "the command ran again")
                #expect(Files.lines(scratch.file("materializations")).isEmpty, "the code was written again")
            }
        }
    }

    @Test func aRunThatDiedWithoutAResultIsReportedNotRunAgain() async throws {
        try await LocalState.with { state in
            try await ScratchFolder.with { scratch in
                let executions = scratch.file("executions")
                let request = JobConformance.job(environment: "dev", name: "train", script: "echo ran >> \"$COUNTER_FILE\"",
                                                 variables: ["COUNTER_FILE": executions])
                _ = try Self.leftBehind(request, state: state, files: ["started": "4242\n"], metrics: nil)
                let record = try await LocalJobs(store: try state.openStore(), paths: state.paths).run(request)
                #expect(record.status == .failed)
                #expect(record.error?.contains("died") == true, "error: \(record.error ?? "nil")")
                #expect(Files.lines(executions).isEmpty, "the command ran again")
            }
        }
    }

    /// Writes what a trueup killed after starting `request` leaves: the store says running, and
    /// `runs/<identity>/attempt-1` holds the given marker files. Returns the attempt folder.
    static func leftBehind(_ request: JobRunRequest, state: LocalState, files: [String: String], metrics: String?) throws -> String {
        let base = state.paths.jobRun(request.identity)
        let attempt = (base as NSString).appendingPathComponent("attempt-1")
        // The code tree the killed trueup wrote (not through `materializeCode`, which the checks count).
        try Files.write("echo ran >> \"$COUNTER_FILE\"\n", to: (base as NSString).appendingPathComponent("code/job.sh"))
        try FileManager.default.createDirectory(atPath: (attempt as NSString).appendingPathComponent("output"), withIntermediateDirectories: true)
        for (name, text) in files { try Files.write(text, to: (attempt as NSString).appendingPathComponent(name)) }
        try Files.write("the job's output\n", to: (attempt as NSString).appendingPathComponent("job.log"))
        if let metrics { try Files.write(metrics, to: (attempt as NSString).appendingPathComponent("output/metrics.json")) }
        try state.openStore().saveJobRun(JobRunRecord(
            identity: request.identity, environment: request.environment, job: request.job, status: .running, attempts: 1,
            outputLocation: (attempt as NSString).appendingPathComponent("output"), logPath: (attempt as NSString).appendingPathComponent("job.log"),
            commit: request.commit, codeTree: request.codeTree, startedAt: Date().timeIntervalSince1970), at: Date().timeIntervalSince1970)
        return attempt
    }
}
