import Foundation
import Testing
import TrueupCore
@testable import TrueupStore

/// Job runs and version tags are read back through JSONDecoder (StoredRecordReading.swift): what
/// is saved must come back equal, every field of it, through the real database.
struct StoredRecordReadingTests {
    static let full = JobRunRecord(
        identity: "id-1", environment: "dev", job: "train", status: .failed, exitCode: 3, attempts: 2,
        outputLocation: "/state/runs/id-1/attempt-2/output", metrics: ["auc": 0.91, "rows": 12],
        logPath: "/state/runs/id-1/attempt-2/job.log", commit: "0123456789abcdef", codeTree: "fedcba9876543210",
        inputs: ["features": "d92fb28958be", "model \"x\"": "7"], candidate: "/registry/models/churn/1",
        startedAt: 1_796_149_485.4632983, finishedAt: 1_796_149_490, error: "exit code 3: \u{e9}t\u{e9}\n",
        outputs: ["model": ArtifactReference(digest: "sha256:" + String(repeating: "ab", count: 32), uri: "file:///state/artifacts/sha256/abab")])

    static let minimal = JobRunRecord(
        identity: "id-2", environment: "dev", job: "prepare", status: .running, outputLocation: "/out", logPath: "/log",
        commit: "c", codeTree: "t", startedAt: 1)

    // Saving and reading back through the database: LocalBackendStoreTests (the job_runs table is
    // the local backend's).

    @Test(arguments: [full, minimal])
    func aJobRunReadsBackAsEncoded(_ record: JobRunRecord) throws {
        #expect(try JobRunRecord(stored: try StoredJSON.encode(record)) == record)
    }

    @Test func everyFieldOfTheCodableEncodingIsRead() throws {
        // Every property is in the stored form, and reads back from it.
        let encoded = try StoredJSON.encode(Self.full)
        let keys = try #require(try JSONValue.parse(Data(encoded.utf8)).objectValue).keys
        #expect(Set(keys).count == Mirror(reflecting: Self.full).children.count, "every property is encoded: \(keys.sorted())")
        #expect(try JobRunRecord(stored: encoded) == Self.full)
    }

    @Test func aDamagedRecordSaysWhichField() throws {
        let damaged = #expect(throws: StoredRecordError.self) { try JobRunRecord(stored: #"{"identity": "x", "status": "lost"}"#) }
        #expect(damaged?.field == "environment")
        let badTag = #expect(throws: StoredRecordError.self) { try StoredJSON.stringMap(#"{"a": 1}"#) }
        #expect(badTag?.field == "a")
        #expect(try StoredJSON.stringMap(#"{"a": "1", "b": ""}"#) == ["a": "1", "b": ""])
    }
}
