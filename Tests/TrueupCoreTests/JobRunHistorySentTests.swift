import Foundation
import Synchronization
import Testing
import TrueupCore

/// A job run history as the controller's actual-state API sends it (`trueup diff --server`):
/// each job's latest run in full, earlier runs by identity, fetched only when planning asks.
struct JobRunHistorySentTests {
    static func record(_ identity: String, job: String) -> JobRunRecord {
        JobRunRecord(identity: identity, environment: "dev", job: job, status: .succeeded, outputLocation: "/out/\(identity)",
                     logPath: "/log/\(identity)", commit: "c", codeTree: "t", startedAt: 1, finishedAt: 2)
    }

    /// What a controller sends, then what a client reads of it.
    static func received(latest: [JobRunRecord], earlier: [String]) throws -> JobRunHistory {
        let sent = JobRunHistory.Sent(latest: Dictionary(uniqueKeysWithValues: latest.map { ($0.identity, $0) }), earlier: earlier)
        return try JSONDecoder().decode(JobRunHistory.self, from: try JSONEncoder().encode(JobRunHistory(run: { _ in nil }, sent: { sent })))
    }

    /// The identities a history fetched, in order.
    final class Fetches: Sendable {
        private let identities = Mutex<[String]>([])
        func append(_ identity: String) { identities.withLock { $0.append(identity) } }
        var all: [String] { identities.withLock { $0 } }
    }

    /// Received with b2 as the latest run and a1, c3 as earlier ones; `fetches` records each fetch.
    static func receivedRecordingFetches(_ fetches: Fetches) throws -> JobRunHistory {
        try received(latest: [record("b2", job: "train")], earlier: ["c3", "a1"]).fetchingEarlierRuns { identity in
            fetches.append(identity)
            return record(identity, job: "train")
        }
    }

    @Test func aLatestRunIsReadWithoutFetchingAndAnUnknownIdentityHasNoRun() throws {
        let fetched = Fetches()
        let history = try Self.receivedRecordingFetches(fetched)
        #expect(try history.run("b2")?.outputLocation == "/out/b2")
        #expect(try history.run("never-ran") == nil)
        #expect(fetched.all.isEmpty, "neither a latest run nor an identity without a run is fetched")
    }

    @Test func anEarlierRunIsFetchedOnlyWhenLookedUp() throws {
        let fetched = Fetches()
        let history = try Self.receivedRecordingFetches(fetched)
        #expect(try history.run("a1")?.outputLocation == "/out/a1")
        #expect(fetched.all == ["a1"])
        #expect(try history.run("c3")?.outputLocation == "/out/c3")
        #expect(fetched.all == ["a1", "c3"], "each earlier run is fetched when looked up, and only then")
    }

    @Test func anEarlierRunThatCannotBeFetchedIsAnErrorForItsIdentityAlone() throws {
        let history = try Self.received(latest: [Self.record("b2", job: "train")], earlier: ["a1"])
        // Nothing attached to fetch with: the run exists, so "no run" would be a wrong answer.
        #expect(throws: JobRunHistory.RunNotFetched.self) { try history.run("a1") }
        #expect(try history.run("b2") != nil)

        let unreachable = history.fetchingEarlierRuns { _ in throw JobRunHistory.RunNotFetched("cannot reach the controller") }
        let error = #expect(throws: JobRunHistory.RunNotFetched.self) { try unreachable.run("a1") }
        #expect(error?.description == "cannot reach the controller")
        #expect(try unreachable.run("zz") == nil)
    }
}
