import Foundation
import TrueupEngine
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
    /// When each environment's next health check is due, and which are being checked now.
    private var nextHealthCheckAt: [String: Double] = [:]
    private var checkingHealth: Set<String> = []

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
            if !stopping { startHealthChecks(in: &group) }
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
            case .health(let health):
                events += healthChecked(health)
            case .reconciled(let name, let outcome):
                finished(name, outcome)
                // What the reconcile left is checked at once, not a health interval later.
                nextHealthCheckAt[name] = 0
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
        context.metrics.fetched(ok: true)
        guard head.commit != tracker.head?.commit else {
            if recovered {
                context.logger.info("the repository is reachable again", metadata: ["revision": "\(head.shortCommit)"])
                writeSourceConditions(tracker.environments.values, at: now)
            }
            context.status.update { $0.source.fetched(head, at: now) }
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
            sourceFailed("cannot read commit \(head.shortCommit): \(error); the controller keeps the last good desired state", head: head, at: now)
            return [.fetchFinished]
        }
    }

    /// `head` is the commit fetched but not usable; nil when the fetch itself failed.
    private func sourceFailed(_ message: String, head: RevisionInfo? = nil, at now: Double) {
        let before = context.status.snapshot.source.fetchError
        context.status.update {
            if let head {
                $0.source.head = head
                $0.source.lastSuccessfulFetchAt = now
            }
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

    /// Stored conditions, metrics, logs and status for what a new revision said.
    ///
    /// The status, which carries the new head, is updated last and at once: whoever sees the
    /// new commit in `GET /api/v1/environments` also sees what it did to each environment, its
    /// conditions and its metrics, never a head whose verdict is still to come.
    private func publish(_ update: SourceUpdate, previous: [String: TrackedEnvironment], at now: Double) {
        context.logger.info("new revision \(update.head.shortCommit) by \(update.head.author): \(update.head.message.split(separator: "\n").first ?? "")")
        writeSourceConditions(update.environments.values.filter { previous[$0.name]?.problem != $0.problem || previous[$0.name] == nil }, at: now)
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
        context.status.update { snapshot in
            snapshot.source.fetched(update.head, at: now)
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

    // MARK: - Health

    /// Starts the health checks that are due: one `observe` of the serving backend per environment,
    /// never while that environment reconciles (the reconcile observes it anyway), each in its own
    /// task so a slow backend delays nothing else.
    private mutating func startHealthChecks(in group: inout DiscardingTaskGroup) {
        let now = Date().timeIntervalSince1970
        for (name, tracked) in tracker.environments where running[name] == nil && !checkingHealth.contains(name) {
            guard now >= nextHealthCheckAt[name, default: now + tracked.settings.healthInterval] else {
                if nextHealthCheckAt[name] == nil { nextHealthCheckAt[name] = now + tracked.settings.healthInterval }
                continue
            }
            nextHealthCheckAt[name] = now + tracked.settings.healthInterval
            checkingHealth.insert(name)
            let workspace = context.workspace
            let inbox = context.inbox
            let settings = tracked.settings
            group.addTask {
                let deployments: [String]
                let health: EnvironmentHealth
                do {
                    deployments = try workspace.store.appliedResources(environment: name).keys.filter { $0.kind == .deployment }.map(\.name)
                    health = await ServingHealth.check(environment: name, deployments: deployments, serving: try workspace.backends(for: settings).serving)
                } catch {
                    health = EnvironmentHealth(environment: name, status: .unknown, deployments: [], observedAt: Date().timeIntervalSince1970, message: "\(error)")
                }
                inbox.send(.health(health))
            }
        }
    }

    /// Publishes a health check; a deployment down in an environment that heals itself starts a
    /// reconcile at once.
    private mutating func healthChecked(_ health: EnvironmentHealth) -> [Scheduler.Event] {
        let name = health.environment
        checkingHealth.remove(name)
        let before = context.status.snapshot.environments[name]?.health?.status
        context.status.environment(name) { $0.health = health }
        context.metrics.health(environment: name, health.status.rawValue)
        if let tracked = tracker.environments[name] { recordHealthNotification(health, tracked) }
        guard health.status != before else { return [] }
        if health.status == .healthy {
            if before != nil { context.logger.info("healthy again", metadata: ["environment": "\(name)"]) }
            return []
        }
        context.logger.warning("\(health.summary)", metadata: ["environment": "\(name)"])
        guard health.status == .degraded || health.status == .missing,
              let settings = tracker.environments[name]?.settings, settings.selfHeal, settings.sync == .auto, running[name] == nil else { return [] }
        context.logger.info("reconciling now to heal it (selfHeal)", metadata: ["environment": "\(name)"])
        return [.healthDegraded(name)]
    }

    /// `degraded` when a deployment goes Degraded or Missing, `recovered` when all are Healthy
    /// again: sent once per change (the store remembers what was last told), never per check.
    private func recordHealthNotification(_ health: EnvironmentHealth, _ tracked: TrackedEnvironment) {
        let recorder = context.reconciler.notifications
        guard recorder.enabled, !tracked.settings.notify.isEmpty else { return }
        let down = health.status == .degraded || health.status == .missing
        guard down || health.status == .healthy else { return }
        let now = Date().timeIntervalSince1970
        do {
            if down {
                let unwell = health.deployments.filter { $0.status != .healthy }
                let entries = recorder.entries(.init(
                    event: .degraded, revision: tracked.revision,
                    summary: "\(health.summary); `trueup status --env \(health.environment)` shows it\(tracked.settings.selfHeal && tracked.settings.sync == .auto ? ", and selfHeal is reconciling it" : ", and `trueup apply --env \(health.environment)` starts it again")",
                    actions: unwell.map { .init(resource: $0.resource, action: "observe", status: $0.status.rawValue, error: $0.message, logs: nil) }),
                    settings: tracked.settings, at: now)
                try context.workspace.store.recordNotifications(entries, environment: health.environment, topic: "health",
                                                                value: unwell.map { "\($0.resource) \($0.status.rawValue)" }.joined(separator: ","), at: now)
            } else if try context.workspace.store.notificationMark(environment: health.environment, topic: "health") != nil {
                let entries = recorder.entries(.init(event: .recovered, revision: tracked.revision, summary: "every deployment of \(health.environment) is healthy again"),
                                               settings: tracked.settings, at: now)
                try context.workspace.store.recordNotifications(entries, at: now)
                try context.workspace.store.recordNotifications([], environment: health.environment, topic: "health", value: nil, at: now)
            }
        } catch let fenced as FencedOut {
            context.inbox.send(.leaseLost(fenced.description))
        } catch {
            context.logger.error("cannot record the health notification of \(health.environment): \(error)")
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
