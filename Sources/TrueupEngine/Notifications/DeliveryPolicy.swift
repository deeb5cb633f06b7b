import Foundation

/// How hard the sender tries: per-request timeout, exponential backoff with jitter, and the age
/// after which an event is given up on (marked failed and counted).
public struct DeliveryPolicy: Sendable, Hashable {
    /// Seconds one request may take, answer included.
    public var sendTimeout: Double
    /// The first retry waits about this long; each next one twice as long.
    public var baseDelay: Double
    public var maxDelay: Double
    /// Seconds after recording: past this, an event that still cannot be delivered has failed.
    public var maxAge: Double

    public init(sendTimeout: Double = 10, baseDelay: Double = 2, maxDelay: Double = 300, maxAge: Double = 6 * 3600) {
        self.sendTimeout = sendTimeout
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxAge = maxAge
    }

    public static let standard = DeliveryPolicy()

    /// The standard policy with any of `TRUEUP_NOTIFY_SEND_TIMEOUT`, `TRUEUP_NOTIFY_RETRY_DELAY`,
    /// `TRUEUP_NOTIFY_MAX_AGE` (seconds) set in `variables` taking its place.
    public static func from(_ variables: [String: String]) -> DeliveryPolicy {
        var policy = DeliveryPolicy()
        func seconds(_ name: String) -> Double? { variables[name].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } }
        if let v = seconds("TRUEUP_NOTIFY_SEND_TIMEOUT") { policy.sendTimeout = v }
        if let v = seconds("TRUEUP_NOTIFY_RETRY_DELAY") { policy.baseDelay = v }
        if let v = seconds("TRUEUP_NOTIFY_MAX_AGE") { policy.maxAge = v }
        return policy
    }

    /// Seconds before attempt `attempts + 1`: exponential, capped, with jitter (half to all of
    /// it, so receivers coming back are not hit by every trueup at once). A receiver's own
    /// Retry-After wins when it asks for longer.
    public func delay(afterAttempt attempts: Int, retryAfter: Double?, random: Double = Double.random(in: 0...1)) -> Double {
        let exponential = min(maxDelay, baseDelay * pow(2, Double(max(0, attempts - 1))))
        let jittered = exponential * (0.5 + 0.5 * random)
        return max(jittered, min(retryAfter ?? 0, maxDelay))
    }
}
