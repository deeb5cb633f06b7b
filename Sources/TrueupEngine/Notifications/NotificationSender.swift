import Foundation
import Synchronization
import TrueupCore
import TrueupStore

/// Delivers the outbox: each receiver's events in the order they were recorded, each attempt
/// bounded by the policy's timeout, retried with backoff until delivered or too old. It runs
/// beside reconciles, never inside one: the controller as a background task, the CLI for a
/// bounded moment before it exits (what is left waits for the next trueup process).
public final class NotificationSender: Sendable {
    public enum Result: String, Sendable { case delivered, retried, failed }

    /// One attempt's outcome, as `notify test` reports it and metrics count it.
    public struct Attempt: Sendable {
        public var environment: String
        public var receiver: String
        public var event: String
        public var deliveryID: String
        public var result: Result
        /// Why not delivered (never holding a secret).
        public var error: String?
    }

    let store: StateStore
    let policy: DeliveryPolicy
    let secrets: [String: String]
    let onAttempt: @Sendable (Attempt) -> Void

    public init(store: StateStore, policy: DeliveryPolicy? = nil, environmentVariables: [String: String] = ProcessInfo.processInfo.environment,
                onAttempt: @escaping @Sendable (Attempt) -> Void = { _ in }) {
        self.store = store
        self.policy = policy ?? .from(environmentVariables)
        self.secrets = environmentVariables
        self.onAttempt = onAttempt
    }

    /// One pass: for each receiver, its pending events oldest first, until one is not due or not
    /// delivered (a later event never overtakes an earlier one: `succeeded` after `started`).
    /// Receivers are served in parallel, so a slow one holds up only itself.
    @discardableResult
    public func deliverDue(now: Double = Date().timeIntervalSince1970, timeout: Double? = nil) async -> [Attempt] {
        guard let pending = try? store.pendingNotifications() else { return [] }
        var queues: [String: [OutboxRow]] = [:]
        var order: [String] = []
        for row in pending {
            let key = "\(row.entry.environment)/\(row.entry.receiver)"
            if queues[key] == nil { order.append(key) }
            queues[key, default: []].append(row)
        }
        let transport = HTTPTransport(timeout: min(policy.sendTimeout, timeout ?? policy.sendTimeout))
        return await withTaskGroup(of: [Attempt].self) { group in
            for key in order {
                let rows = queues[key] ?? []
                group.addTask {
                    var attempts: [Attempt] = []
                    for row in rows {
                        guard row.nextAttemptAt <= now else { break }
                        let attempt = await self.attempt(row, transport: transport, now: now)
                        attempts.append(attempt)
                        guard attempt.result != .retried else { break }
                    }
                    return attempts
                }
            }
            var all: [Attempt] = []
            for await attempts in group { all += attempts }
            return all
        }
    }

    /// Delivers what it can within `seconds` (the CLI before it exits): passes until nothing is
    /// due before the deadline, each request cut to the time left.
    public func flush(within seconds: Double) async -> [Attempt] {
        let deadline = Date().timeIntervalSince1970 + seconds
        var all: [Attempt] = []
        while true {
            let now = Date().timeIntervalSince1970
            guard now < deadline else { break }
            let pending: [OutboxRow]
            do {
                pending = try store.pendingNotifications()
            } catch {
                // The store busy with another writer for longer than its timeout: a moment later
                // it answers; the flush still ends at its deadline.
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            guard let next = pending.map(\.nextAttemptAt).min(), next < deadline else { break }
            if next > now { try? await Task.sleep(for: .seconds(next - now)) }
            all += await deliverDue(timeout: max(0.1, deadline - Date().timeIntervalSince1970))
        }
        return all
    }

    /// Delivers until cancelled or `keepGoing` says stop, looking for due events every
    /// `interval` seconds; each request takes at most `timeout` (default: the policy's). A pass
    /// under way is finished, not cut off: a cancelled request would look like a dead receiver.
    public func run(interval: Double = 1, timeout: Double? = nil, while keepGoing: @escaping @Sendable () -> Bool = { true }) async {
        while !Task.isCancelled && keepGoing() {
            await deliverDue(timeout: timeout)
            var waited = 0.0
            while waited < interval && keepGoing() && !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
                waited += 0.05
            }
        }
    }

    /// One attempt at one row, recorded: delivered, rescheduled, or failed.
    func attempt(_ row: OutboxRow, transport: HTTPTransport, now: Double) async -> Attempt {
        let entry = row.entry
        var attempt = Attempt(environment: entry.environment, receiver: entry.receiver, event: entry.event, deliveryID: entry.deliveryID, result: .delivered)
        let attempts = row.attempts + 1
        do {
            let receiver = try StoredJSON.decode(NotifyReceiver.self, entry.receiverJSON)
            let event = try NotificationEvent.decode(entry.payloadJSON)
            let context = DeliveryContext(transport: transport, secrets: secrets, store: store, row: row, receiver: receiver, event: event)
            try await NotificationChannels.channel(for: receiver.type).deliver(context)
            try store.markDelivered(row.id, attempts: attempts, at: Date().timeIntervalSince1970)
        } catch let failure as DeliveryFailure {
            let message = redacted(failure.description, row: row)
            attempt.error = message
            let finished = Date().timeIntervalSince1970
            switch failure {
            case .transient(_, let retryAfter):
                let next = finished + policy.delay(afterAttempt: attempts, retryAfter: retryAfter)
                if next - row.createdAt > policy.maxAge {
                    attempt.result = .failed
                    attempt.error = "\(message); gave up after \(attempts) attempts over \(Int(finished - row.createdAt))s"
                    try? store.markFailed(row.id, attempts: attempts, error: attempt.error!, at: finished)
                } else {
                    attempt.result = .retried
                    try? store.scheduleRetry(row.id, attempts: attempts, next: next, error: message)
                }
            case .permanent:
                attempt.result = .failed
                try? store.markFailed(row.id, attempts: attempts, error: message, at: finished)
            }
        } catch {
            // A row this build cannot read (or the state database refusing the update).
            attempt.result = .failed
            attempt.error = redacted("cannot deliver \(entry.event) to receiver \(entry.receiver) of \(entry.environment): \(error)", row: row)
            try? store.markFailed(row.id, attempts: attempts, error: attempt.error!, at: Date().timeIntervalSince1970)
        }
        onAttempt(attempt)
        return attempt
    }

    /// `text` with the value of every secret the row's receiver names cut out: belt and braces
    /// over messages built never to contain them (an answer body could echo one).
    func redacted(_ text: String, row: OutboxRow) -> String {
        guard let receiver = try? StoredJSON.decode(NotifyReceiver.self, row.entry.receiverJSON) else { return text }
        var text = text
        for name in [receiver.tokenFromEnv, receiver.secretFromEnv, receiver.urlFromEnv].compactMap({ $0 }) {
            if let value = secrets[name], value.count >= 4 { text = text.replacingOccurrences(of: value, with: "[\(name)]") }
        }
        return text
    }
}
