import Synchronization
import Testing
import TrueupCore

/// Counts how many of its values were freed (one counter per test: tests run at the same time).
private final class FreedCounter: Sendable {
    let count = Atomic<Int>(0)
}

private final class Counted: Sendable {
    let counter: FreedCounter
    init(_ counter: FreedCounter) { self.counter = counter }
    deinit { counter.count.add(1, ordering: .relaxed) }
}

struct EveryCoreTests {
    @Test func releaseReturnsOnceEveryValueIsFreed() {
        let counter = FreedCounter()
        var values: [[Counted]] = []
        for _ in 0..<5_000 { values.append([Counted(counter), Counted(counter)]) }
        EveryCore.release(consume values)
        #expect(counter.count.load(ordering: .relaxed) == 10_000)
    }

    @Test func valuesStillHeldElsewhereStayAlive() {
        let counter = FreedCounter()
        let kept = (0..<1_000).map { _ in Counted(counter) }
        EveryCore.release(kept)
        // The caller's array still holds every one of them.
        #expect(counter.count.load(ordering: .relaxed) == 0)
        #expect(kept.count == 1_000)
    }
}
