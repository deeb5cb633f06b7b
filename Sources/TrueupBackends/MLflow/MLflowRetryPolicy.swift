/// How long an MLflow call may take and how it is tried again (DESIGN §3: retries with backoff for
/// transient errors, then a bounded give-up).
///
/// Backoff is exponential with full jitter: many trueup processes retrying against one recovering
/// server must not come back in step.
public struct MLflowRetryPolicy: Sendable {
    /// One request, head and body together.
    public var requestTimeout: Duration
    /// No new attempt starts after this long since the first one.
    public var giveUpAfter: Duration
    public var firstPause: Duration
    public var longestPause: Duration

    public init(requestTimeout: Duration, giveUpAfter: Duration, firstPause: Duration = .milliseconds(200), longestPause: Duration = .seconds(5)) {
        self.requestTimeout = requestTimeout
        self.giveUpAfter = giveUpAfter
        self.firstPause = firstPause
        self.longestPause = longestPause
    }

    /// A request gets 15 s; a call gives up after 20 s of failures: long enough for a server
    /// restart or a burst of 503s, short enough that `plan` against a server that is down says
    /// so promptly.
    public static let standard = MLflowRetryPolicy(requestTimeout: .seconds(15), giveUpAfter: .seconds(20))

    /// The pause before attempt `attempt + 1`, or nil when the time is up.
    func pause(afterAttempt attempt: Int, elapsed: Duration) -> Duration? {
        let ceiling = min(longestPause, firstPause * Double(1 << min(attempt - 1, 16)))
        let pause = ceiling * Double.random(in: 0.5...1.0)
        return elapsed + pause < giveUpAfter ? pause : nil
    }
}
