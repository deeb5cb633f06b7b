import Foundation
import Logging
import ServiceLifecycle
import TrueupEngine

/// The controller's delivery of the outbox, a service beside the loop and the HTTP server: a
/// dead or slow receiver delays only its own events, never a reconcile. Only the leader sends
/// (a standby's writes are fenced out); events recorded before a crash or a kill -9 are found in
/// the outbox and sent by whichever controller leads next, with their original delivery ids.
struct NotificationDelivery: Service {
    let context: ControllerContext
    /// Seconds between looks at the outbox.
    var interval: Double = 0.5

    func run() async throws {
        let metrics = context.metrics
        let logger = context.logger
        let sender = NotificationSender(store: context.workspace.store, onAttempt: { attempt in
            metrics.notification(receiver: attempt.receiver, result: attempt.result.rawValue)
            switch attempt.result {
            case .delivered:
                logger.info("notification delivered", metadata: ["environment": "\(attempt.environment)", "receiver": "\(attempt.receiver)", "event": "\(attempt.event)", "delivery": "\(attempt.deliveryID)"])
            case .retried:
                logger.warning("notification not delivered, will retry: \(attempt.error ?? "")", metadata: ["environment": "\(attempt.environment)", "receiver": "\(attempt.receiver)", "event": "\(attempt.event)", "delivery": "\(attempt.deliveryID)"])
            case .failed:
                logger.error("notification failed: \(attempt.error ?? "")", metadata: ["environment": "\(attempt.environment)", "receiver": "\(attempt.receiver)", "event": "\(attempt.event)", "delivery": "\(attempt.deliveryID)"])
            }
        })
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if case .leading = context.status.snapshot.role { await sender.deliverDue() }
                try? await Task.sleep(for: .seconds(interval))
            }
        }
    }
}
