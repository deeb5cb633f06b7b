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

    /// A request gets 10 s; a call gives up after 15 s of failures: long enough for a server
    /// restart or a burst of 503s, short enough that `plan` against a server that is down says
    /// so within about 20 s. (AsyncHTTPClient itself keeps retrying a refused connection until
    /// the request's timeout, so one attempt at a server that is down lasts the whole 10 s.)
    public static let standard = MLflowRetryPolicy(requestTimeout: .seconds(10), giveUpAfter: .seconds(15))

    /// The pause before attempt `attempt + 1`, or nil when the time is up.
    func pause(afterAttempt attempt: Int, elapsed: Duration) -> Duration? {
        let ceiling = min(longestPause, firstPause * Double(1 << min(attempt - 1, 16)))
        let pause = ceiling * Double.random(in: 0.5...1.0)
        return elapsed + pause < giveUpAfter ? pause : nil
    }
}
