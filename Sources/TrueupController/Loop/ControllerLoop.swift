import Foundation
import Logging
import ServiceLifecycle
import TrueupStore

/// The controller's background service: wait for the leader lease, lead (fetch, reconcile), and
/// on graceful shutdown (SIGTERM, SIGINT) stop taking work, let running reconciles reach a
/// recorded state, give the lease back and return.
struct ControllerLoop: Service {
    let context: ControllerContext
    /// How often the loop wakes up to look at the clock (and to retry the lease in standby).
    var tickPeriod: Duration = .milliseconds(250)

    func run() async {
        let election = LeaderElection(store: context.workspace.store, holder: context.configuration.holder, duration: context.configuration.leaseDuration)
        // Nothing is written before the lease is ours.
        context.workspace.store.setFence(election.nobodysFence())
        var messages = context.inbox.messages.makeAsyncIterator()
        await withDiscardingTaskGroup { group in
            group.addTask { [inbox = context.inbox, tickPeriod] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: tickPeriod)
                    inbox.send(.tick)
                }
            }
            await withGracefulShutdownHandler {
                await lifecycle(election, &messages, &group)
            } onGracefulShutdown: { [inbox = context.inbox] in
                inbox.send(.shutdown)
            }
            group.cancelAll()
        }
        context.status.setRole(.stopping)
    }

    /// Standby until the lease is ours, then a leader term; again after a lost lease; out on shutdown.
    private func lifecycle(_ election: LeaderElection, _ messages: inout AsyncStream<LoopInbox.Message>.Iterator, _ group: inout DiscardingTaskGroup) async {
        let logger = context.logger
        while true {
            guard let fence = await waitForLease(election, &messages) else { return }
            context.workspace.store.setFence(fence)
            context.status.setRole(.leading(token: fence.token))
            context.metrics.leader(true)
            logger.info("leading: this controller holds the leader lease", metadata: ["holder": "\(fence.holder)", "token": "\(fence.token)"])

            let renewal = Task { [inbox = context.inbox] in
                await Self.renew(fence, election, inbox: inbox, logger: logger)
            }
            var term = LeaderTerm(context: context)
            let ending = await term.run(&messages, &group)
            renewal.cancel()
            context.metrics.leader(false)

            if let lost = ending.leaseLost {
                // Keep the now-invalid fence: every write stays refused until the lease is ours again.
                logger.warning("lost the leader lease: stopped writing; waiting to lead again", metadata: ["reason": "\(lost)"])
                if ending.shutdown { return }
                context.status.setRole(.standby(leader: election.currentLeader()))
                continue
            }
            do {
                try election.release(fence)
                logger.info("released the leader lease")
            } catch {
                logger.error("cannot release the leader lease (it expires by itself in \(Int(election.duration)) s): \(error)")
            }
            context.workspace.store.setFence(election.nobodysFence())
            return
        }
    }

    /// Tries the lease at every tick; nil when shutdown came first.
    private func waitForLease(_ election: LeaderElection, _ messages: inout AsyncStream<LoopInbox.Message>.Iterator) async -> Fence? {
        var announced = false
        // Often enough to take over soon after the lease expires, rarely enough not to load the store.
        let retryPeriod = min(1, election.renewalPeriod)
        var lastAttempt = -Double.infinity
        while true {
            let now = Date().timeIntervalSince1970
            // A controller that cannot serve (its port taken) must not lead.
            if context.status.snapshot.serving && now - lastAttempt >= retryPeriod {
                lastAttempt = now
                do {
                    if let fence = try election.tryAcquire(now: now) { return fence }
                } catch {
                    context.logger.error("cannot read the leader lease: \(error); retrying")
                }
                let leader = election.currentLeader()
                context.status.setRole(.standby(leader: leader))
                if !announced {
                    context.logger.info("standby: another controller holds the leader lease; waiting for it", metadata: ["leader": "\(leader ?? "unknown")"])
                    announced = true
                }
            }
            // Webhooks, syncs and ticks wake us; only shutdown matters while waiting.
            guard let message = await messages.next() else { return nil }
            if case .shutdown = message { return nil }
        }
    }

    /// Renews the lease every third of its duration until cancelled; tells the loop when it is lost.
    private static func renew(_ fence: Fence, _ election: LeaderElection, inbox: LoopInbox, logger: Logger) async {
        var failures = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int64(election.renewalPeriod * 1000)))
            guard !Task.isCancelled else { return }
            do {
                if try election.renew(fence) {
                    failures = 0
                    continue
                }
                inbox.send(.leaseLost("another controller took the leader lease over"))
                return
            } catch {
                failures += 1
                logger.warning("cannot renew the leader lease (attempt \(failures)): \(error)")
                if failures >= 2 {
                    inbox.send(.leaseLost("the lease could not be renewed: \(error)"))
                    return
                }
            }
        }
    }
}
