/// An environment's job runs by identity, as observed, each read only when it is looked up.
///
/// A job gets a new identity whenever its code, inputs or parameters change, and every run is
/// kept, so an environment's history only grows: one run per job and commit that changed it.
/// Planning looks up the identities it plans, one per job. Reading and decoding every recorded
/// run on every plan (about 30 µs a run) made a no-op plan 0.6 s slower after 40 commits that
/// each changed 500 jobs.
public struct JobRunHistory: Sendable {
    private enum Source: Sendable {
        case records([String: JobRunRecord])
        /// A backend's own lookup, by identity, and what is sent of it (see `Sent`).
        case lookup(run: @Sendable (String) throws -> JobRunRecord?, sent: @Sendable () throws -> Sent)
        /// As received from a controller: earlier runs are fetched from it by `fetch` when looked up.
        case received(Sent, fetch: (@Sendable (String) throws -> JobRunRecord?)?)
    }

    /// What the controller's actual-state API sends of a history: each job's latest run in full,
    /// and only the identity of every earlier run. Planning needs an earlier run's record only
    /// for a job whose code or inputs went back to earlier ones, so a client fetches it then (see
    /// `fetchingEarlierRuns`). Sending every record made the state of an environment with 20,000
    /// recorded runs about 20 MB, read and encoded for every pull request.
    public struct Sent: Codable, Sendable {
        /// Each job's latest run, by identity.
        public var latest: [String: JobRunRecord]
        /// The identities of the environment's other runs, sorted.
        public var earlier: [String]

        public init(latest: [String: JobRunRecord], earlier: [String]) {
            self.latest = latest
            self.earlier = earlier
        }
    }

    /// An earlier run that was not sent with the state and could not be fetched: what went wrong
    /// and what to do, in its own words.
    public struct RunNotFetched: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    private let source: Source

    public init(_ records: [String: JobRunRecord] = [:]) {
        source = .records(records)
    }

    /// Runs read from a backend's store when they are looked up. `run` may be called from
    /// several threads at once (planning plans independent resources on every core); `sent`
    /// reads what the controller's API sends of the history.
    public init(run: @escaping @Sendable (String) throws -> JobRunRecord?, sent: @escaping @Sendable () throws -> Sent) {
        source = .lookup(run: run, sent: sent)
    }

    /// The run recorded for `identity`, or nil when there is none. Throws when its record
    /// cannot be read; the records of other identities are never read.
    public func run(_ identity: String) throws -> JobRunRecord? {
        switch source {
        case .records(let records): return records[identity]
        case .lookup(let run, _): return try run(identity)
        case .received(let sent, let fetch):
            if let latest = sent.latest[identity] { return latest }
            guard Self.contains(sent.earlier, identity) else { return nil }
            guard let fetch else { throw RunNotFetched("it was not sent with the state, and nothing fetches it") }
            return try fetch(identity)
        }
    }

    /// What the controller's actual-state API sends (see `Sent`).
    public func sent() throws -> Sent {
        switch source {
        case .records(let records): return Sent(latest: records, earlier: [])
        case .lookup(_, let sent): return try sent()
        case .received(let sent, _): return sent
        }
    }

    /// This history as received, with `fetch` to read an earlier run when it is looked up.
    public func fetchingEarlierRuns(_ fetch: @escaping @Sendable (String) throws -> JobRunRecord?) -> JobRunHistory {
        guard case .received(let sent, _) = source else { return self }
        return JobRunHistory(source: .received(sent, fetch: fetch))
    }

    private init(source: Source) {
        self.source = source
    }

    /// Whether sorted `identities` hold `identity`: a binary search, since thousands of
    /// identities are asked about while planning.
    private static func contains(_ identities: [String], _ identity: String) -> Bool {
        var low = 0, high = identities.count
        while low < high {
            let middle = (low + high) / 2
            if identities[middle] < identity { low = middle + 1 } else { high = middle }
        }
        return low < identities.count && identities[low] == identity
    }
}

/// Sent (the controller's actual-state API) as `Sent`: latest runs in full, earlier ones by identity.
extension JobRunHistory: Codable {
    public init(from decoder: any Decoder) throws {
        var sent = try Sent(from: decoder)
        sent.earlier.sort()
        self.init(source: .received(sent, fetch: nil))
    }

    public func encode(to encoder: any Encoder) throws {
        try sent().encode(to: encoder)
    }
}
