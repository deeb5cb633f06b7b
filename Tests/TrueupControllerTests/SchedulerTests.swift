import Testing
@testable import TrueupController

/// The scheduler as a table: a sequence of (time, events) steps and the work expected at each.
@Suite("Scheduler: when to fetch and what to reconcile")
struct SchedulerTests {
    typealias Step = (at: Double, events: [Scheduler.Event], expect: [Scheduler.Work])

    static func target(_ fingerprint: String, interval: Double = 600, from: String? = nil) -> Scheduler.Target {
        Scheduler.Target(fingerprint: fingerprint, interval: interval, promotionFrom: from)
    }

    static func finished(_ name: String, ok: Bool = true, changed: Bool = false) -> Scheduler.Event {
        .reconcileFinished(name, succeeded: ok, changedSomething: changed)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var poll: Double = 60
        var maxConcurrent = 2
        var steps: [Step]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "fetches at start, then once per poll after the previous fetch ended", steps: [
            (0, [], [.fetch]),
            (1, [], []),
            (5, [.fetchFinished], []),
            (64, [], []),
            (65, [], [.fetch]),
        ]),
        Case(name: "a webhook fetches at once, and again after a running fetch when it came during it", steps: [
            (0, [], [.fetch]),
            (2, [.fetchRequested], []),
            (3, [.fetchFinished], [.fetch]),
            (4, [.fetchFinished, .fetchRequested], [.fetch]),
        ]),
        Case(name: "each environment is reconciled once at start, then when its fingerprint moves", steps: [
            (0, [], [.fetch]),
            (1, [.fetchFinished, .desiredState(["dev": target("a"), "prod": target("p")])], [.reconcile("dev", .start), .reconcile("prod", .start)]),
            (2, [finished("dev"), finished("prod")], []),
            (61, [], [.fetch]),
            (62, [.fetchFinished, .desiredState(["dev": target("b"), "prod": target("p")])], [.reconcile("dev", .desiredStateChanged)]),
            (63, [finished("dev")], []),
        ]),
        Case(name: "the interval comes due from the end of the last reconcile", steps: [
            (0, [.desiredState(["dev": target("a", interval: 100)])], [.fetch, .reconcile("dev", .start)]),
            (10, [finished("dev")], []),
            (109, [.fetchFinished], []),
            (110, [], [.reconcile("dev", .intervalDue)]),
        ]),
        Case(name: "a change during a reconcile is reconciled right after it, never concurrently", steps: [
            (0, [.fetchFinished, .desiredState(["dev": target("a")])], [.reconcile("dev", .start)]),
            (1, [.desiredState(["dev": target("b")])], []),
            (2, [finished("dev")], [.reconcile("dev", .desiredStateChanged)]),
            (3, [finished("dev")], []),
        ]),
        Case(name: "a sync request reconciles now, once", steps: [
            (0, [.fetchFinished, .desiredState(["dev": target("a")])], [.reconcile("dev", .start)]),
            (1, [finished("dev")], []),
            (2, [.syncRequested("dev")], [.reconcile("dev", .syncRequested)]),
            (3, [finished("dev")], []),
            (4, [.syncRequested("nope")], []),
        ]),
        Case(name: "failures retry with backoff, never later than the interval", poll: 1000, steps: [
            (0, [.fetchFinished, .desiredState(["dev": target("a", interval: 50)])], [.reconcile("dev", .start)]),
            (1, [finished("dev", ok: false)], []),
            (30, [], []),
            (31, [], [.reconcile("dev", .retry)]),
            (32, [finished("dev", ok: false)], []),
            (81, [], []),
            (82, [], [.reconcile("dev", .retry)]),
            (83, [finished("dev")], []),
            (133, [], [.reconcile("dev", .intervalDue)]),
        ]),
        Case(name: "at most maxConcurrent reconciles at once, the rest as slots free up", maxConcurrent: 1, steps: [
            (0, [.fetchFinished, .desiredState(["a": target("1"), "b": target("2")])], [.reconcile("a", .start)]),
            (1, [finished("a")], [.reconcile("b", .start)]),
        ]),
        Case(name: "applying in the source environment re-plans the environments promoted from it", steps: [
            (0, [.fetchFinished, .desiredState(["staging": target("s"), "prod": target("p", from: "staging")])],
             [.reconcile("prod", .start), .reconcile("staging", .start)]),
            (1, [finished("prod"), finished("staging", changed: true)], [.reconcile("prod", .promotionSourceApplied)]),
            (2, [finished("prod"), .syncRequested("staging")], [.reconcile("staging", .syncRequested)]),
            (3, [finished("staging", changed: false)], []),
        ]),
        Case(name: "an environment removed from git is forgotten, after its running reconcile", steps: [
            (0, [.fetchFinished, .desiredState(["dev": target("a"), "old": target("o")])], [.reconcile("dev", .start), .reconcile("old", .start)]),
            (1, [finished("dev"), .desiredState(["dev": target("a")])], []),
            (2, [finished("old"), .syncRequested("old")], []),
            (3, [.desiredState(["dev": target("a"), "old": target("o")])], [.reconcile("old", .start)]),
        ]),
        Case(name: "after shutdown nothing new starts, not even due work", steps: [
            (0, [.fetchFinished, .desiredState(["dev": target("a", interval: 10)])], [.reconcile("dev", .start)]),
            (1, [.shutdownRequested], []),
            (2, [finished("dev"), .fetchRequested, .syncRequested("dev")], []),
            (500, [], []),
        ]),
    ]

    @Test(arguments: cases)
    func table(_ testCase: Case) {
        var scheduler = Scheduler(pollInterval: testCase.poll, maxConcurrent: testCase.maxConcurrent)
        for (index, step) in testCase.steps.enumerated() {
            let work = scheduler.nextWork(now: step.at, events: step.events)
            #expect(work == step.expect, "step \(index) at t=\(step.at)")
        }
    }

    @Test func idleOnlyWhenNothingRunsAndTheDeadlineFollowsTheClock() {
        var scheduler = Scheduler(pollInterval: 60)
        _ = scheduler.nextWork(now: 0, events: [])
        #expect(!scheduler.isIdle, "a fetch is running")
        _ = scheduler.nextWork(now: 1, events: [.fetchFinished, .desiredState(["dev": Self.target("a", interval: 30)])])
        #expect(!scheduler.isIdle, "a reconcile is running")
        _ = scheduler.nextWork(now: 2, events: [Self.finished("dev")])
        #expect(scheduler.isIdle)
        #expect(scheduler.nextDeadline() == 32, "dev's interval comes before the next fetch at 61")
    }

    @Test func retryDelayDoublesUpToAnHour() {
        #expect(Scheduler.retryDelay(failures: 1) == 30)
        #expect(Scheduler.retryDelay(failures: 2) == 60)
        #expect(Scheduler.retryDelay(failures: 5) == 480)
        #expect(Scheduler.retryDelay(failures: 50) == 3600)
    }
}
