import Foundation
import Logging
import TrueupCore
import TrueupStore

/// One stretch of leadership: fetch the repository, track each environment's last good desired
/// state, and run the reconciles the scheduler asks for, until shutdown or a lost lease.
///
/// It lives in the loop's task alone (the mirror owns a libgit2 handle); reconciles run as child
/// tasks and report back through the inbox. Whatever ends the term, it returns only once no
/// reconcile is running, so every apply it started has reached a recorded state.
struct LeaderTerm {
    struct Ending {
        /// Why the lease is gone; nil when it is still ours.
        var leaseLost: String?
        var shutdown = false
    }

    let context: ControllerContext
    private let mirror: RepositoryMirror
    private var tracker: SourceTracker
    private var scheduler: Scheduler
    private var ending = Ending()
    private var stopping = false
    /// What each running reconcile was started for.
    private var running: [String: (reason: Scheduler.Reason, revision: String)] = [:]

    init(context: ControllerContext) {
        self.context = context
        let configuration = context.configuration
        mirror = RepositoryMirror(url: configuration.repository, branch: configuration.branch, stateDirectory: configuration.stateDirectory)
        tracker = SourceTracker(specRoot: configuration.specRoot)
        scheduler = Scheduler(pollInterval: configuration.pollInterval, maxConcurrent: configuration.maxConcurrentReconciles)
    }

    mutating func run(_ messages: inout AsyncStream<LoopInbox.Message>.Iterator, _ group: inout DiscardingTaskGroup) async -> Ending {
        var events: [Scheduler.Event] = []
        while true {
            let work = scheduler.nextWork(now: Date().timeIntervalSince1970, events: events)
            events = []
            for item in work {
                switch item {
                case .fetch:
                    events += fetch()
                case .reconcile(let name, let reason):
                    events += start(name, reason, in: &group)
                }
            }
            publishSchedule()
            if !events.isEmpty { continue }
            if stopping && scheduler.isIdle { return ending }

            guard let message = await messages.next() else {
                ending.shutdown = true
                return ending
            }
            switch message {
            case .tick:
                break
            case .fetchNow(let why):
                context.logger.info("fetching now: \(why)")
                events.append(.fetchRequested)
            case .sync(let name):
                events.append(.syncRequested(name))
            case .reconciled(let name, let outcome):
                finished(name, outcome)
                events.append(.reconcileFinished(name, succeeded: outcome.succeeded, changedSomething: outcome.changedSomething))
                if outcome.result == .fencedOut { stop(leaseLost: outcome.message, &events) }
            case .leaseLost(let why):
                stop(leaseLost: why, &events)
            case .shutdown:
                context.logger.info("shutting down: no new work; waiting for running reconciles to finish")
                context.status.setRole(.stopping)
                ending.shutdown = true
                stop(leaseLost: nil, &events)
            }
        }
    }

    private mutating func stop(leaseLost: String?, _ events: inout [Scheduler.Event]) {
        if let leaseLost, ending.leaseLost == nil { ending.leaseLost = leaseLost }
        if !stopping {
            stopping = true
            events.append(.shutdownRequested)
        }
    }

    // MARK: - Fetch

    /// Fetches the branch; when it moved, loads the new revision (through the reconciler's cache)
    /// and hands the scheduler each environment's desired state.
    private mutating func fetch() -> [Scheduler.Event] {
        let now = Date().timeIntervalSince1970
        let head: RevisionInfo
        do {
            head = try mirror.fetch()
        } catch {
            sourceFailed(error.description, at: now)
            return [.fetchFinished]
        }
        let recovered = context.status.snapshot.source.fetchError != nil
        context.status.update {
            $0.source.head = head
            $0.source.lastFetchAt = now
            $0.source.lastSuccessfulFetchAt = now
            $0.source.fetchError = nil
        }
        context.metrics.fetched(ok: true)
        guard head.commit != tracker.head?.commit else {
            if recovered {
                context.logger.info("the repository is reachable again", metadata: ["revision": "\(head.shortCommit)"])
                writeSourceConditions(tracker.environments.values, at: now)
            }
            return [.fetchFinished]
        }
        do {
            let snapshot = try mirror.snapshot(at: head.commit)
            let desired = try context.reconciler.loadDesiredState(snapshot)
            let previous = tracker.environments
            let update = try tracker.update(desired: desired, snapshot: snapshot)
            publish(update, previous: previous, at: now)
            return [.fetchFinished, .desiredState(update.environments.mapValues(\.target))]
        } catch {
            sourceFailed("cannot read commit \(head.shortCommit): \(error); the controller keeps the last good desired state", at: now)
            return [.fetchFinished]
        }
    }

    private func sourceFailed(_ message: String, at now: Double) {
        let before = context.status.snapshot.source.fetchError
        context.status.update {
            $0.source.lastFetchAt = now
            $0.source.fetchError = message
        }
        context.metrics.fetched(ok: false)
        guard before != message else { return }
        context.logger.warning("\(message)")
        for environment in tracker.environments.values {
            write(Condition(type: "SourceReady", status: false, reason: "GitUnreachable",
                            message: "kept at its last good revision \(environment.revision.shortCommit): \(message)", since: now), to: environment.name)
        }
    }

    /// Status, metrics, logs and stored conditions for what a new revision said.
    private func publish(_ update: SourceUpdate, previous: [String: TrackedEnvironment], at now: Double) {
        context.logger.info("new revision \(update.head.shortCommit) by \(update.head.author): \(update.head.message.split(separator: "\n").first ?? "")")
        context.status.update { snapshot in
            for (name, tracked) in update.environments {
                var environment = snapshot.environments[name] ?? ControllerStatus.Environment(name: name)
                environment.tracked = tracked
                environment.problem = tracked.problem
                snapshot.environments[name] = environment
            }
            for (name, problem) in update.neverValid {
                var environment = snapshot.environments[name] ?? ControllerStatus.Environment(name: name)
                environment.problem = problem
                snapshot.environments[name] = environment
            }
            for name in snapshot.environments.keys where update.environments[name] == nil && update.neverValid[name] == nil {
                snapshot.environments[name] = nil
            }
        }
        for (name, tracked) in update.environments {
            context.metrics.desiredStateOK(environment: name, tracked.problem == nil)
            if let problem = tracked.problem, previous[name]?.problem != problem {
                context.logger.warning("\(problem)", metadata: ["environment": "\(name)", "kept": "\(tracked.revision.shortCommit)"])
            }
        }
        for (name, problem) in update.neverValid {
            context.metrics.desiredStateOK(environment: name, false)
            context.logger.warning("\(problem)", metadata: ["environment": "\(name)"])
        }
        for name in update.removed {
            context.logger.warning("environment \(name) is no longer in git: it is not reconciled any more, and nothing of it is deleted")
        }
        writeSourceConditions(update.environments.values.filter { previous[$0.name]?.problem != $0.problem || previous[$0.name] == nil }, at: now)
    }

    private func writeSourceConditions(_ environments: some Sequence<TrackedEnvironment>, at now: Double) {
        for environment in environments { write(sourceCondition(environment, at: now), to: environment.name) }
    }

    /// Stored conditions are status, not work: a failed write is logged, a lost lease ends the term.
    private func write(_ condition: Condition, to environment: String) {
        do {
            try ConditionBook(store: context.workspace.store).merge(environment: environment, [condition])
        } catch let fenced as FencedOut {
            context.inbox.send(.leaseLost(fenced.description))
        } catch {
            context.logger.error("cannot record the status of \(environment): \(error)")
        }
    }

    // MARK: - Reconcile

    private mutating func start(_ name: String, _ reason: Scheduler.Reason, in group: inout DiscardingTaskGroup) -> [Scheduler.Event] {
        guard let tracked = tracker.environments[name] else {
            return [.reconcileFinished(name, succeeded: true, changedSomething: false)]
        }
        running[name] = (reason, tracked.revision.commit)
        context.status.environment(name) { $0.reconciling = true }
        let reconciliation = EnvironmentReconciliation(context: context, environment: tracked, reason: reason)
        let inbox = context.inbox
        group.addTask {
            let outcome = await reconciliation.run()
            inbox.send(.reconciled(name, outcome))
        }
        return []
    }

    private mutating func finished(_ name: String, _ outcome: ReconcileOutcome) {
        guard let started = running.removeValue(forKey: name) else { return }
        let report = ControllerStatus.Report(
            finishedAt: Date().timeIntervalSince1970, reason: started.reason, outcome: outcome.result, message: outcome.message,
            revision: started.revision, plan: outcome.plan, drift: outcome.drift, runID: outcome.runID, failed: outcome.failed)
        context.status.environment(name) {
            $0.reconciling = false
            $0.report = report
        }
    }

    private func publishSchedule() {
        let environments = scheduler.environments
        context.status.update { snapshot in
            for (name, scheduled) in environments {
                snapshot.environments[name]?.reconciling = scheduled.running
                snapshot.environments[name]?.nextReconcileAt = scheduled.dueAt
            }
        }
    }
}
