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
        /// A backend's own lookup, by identity, and reading of every run it holds.
        case lookup(run: @Sendable (String) throws -> JobRunRecord?, all: @Sendable () throws -> [String: JobRunRecord])
    }

    private let source: Source

    public init(_ records: [String: JobRunRecord] = [:]) {
        source = .records(records)
    }

    /// Runs read from a backend's store when they are looked up. `run` may be called from
    /// several threads at once (planning plans independent resources on every core); `all` reads
    /// every run at once, for `records()`.
    public init(run: @escaping @Sendable (String) throws -> JobRunRecord?, all: @escaping @Sendable () throws -> [String: JobRunRecord]) {
        source = .lookup(run: run, all: all)
    }

    /// The run recorded for `identity`, or nil when there is none. Throws when its record
    /// cannot be read; the records of other identities are never read.
    public func run(_ identity: String) throws -> JobRunRecord? {
        switch source {
        case .records(let records): records[identity]
        case .lookup(let run, _): try run(identity)
        }
    }

    /// Every run, read: for those who show or send the whole history.
    public func records() throws -> [String: JobRunRecord] {
        switch source {
        case .records(let records): records
        case .lookup(_, let all): try all()
        }
    }
}

/// Sent (the controller's actual-state API) as every run, read.
extension JobRunHistory: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try [String: JobRunRecord](from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try records().encode(to: encoder)
    }
}
