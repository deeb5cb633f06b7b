import Testing
import TrueupCore

/// `EveryCore.map(rangesOf:atLeast:)` hands out consecutive ranges; the planner relies on them
/// covering every index exactly once, in order, whatever the count.
struct EveryCoreTests {
    @Test(arguments: [0, 1, 7, 255, 256, 511, 512, 513, 1000, 4099, 33_000])
    func rangesCoverEveryIndexOnceInOrder(count: Int) {
        let ranges = EveryCore.map(rangesOf: count, atLeast: 256) { $0 }
        #expect(ranges.flatMap { Array($0) } == Array(0..<count))
        #expect(ranges.allSatisfy { !$0.isEmpty } || count == 0)
        if count < 2 * 256 { #expect(ranges.count == 1, "too few to be worth spreading") }
    }

    @Test func resultsComeBackInIndexOrder() {
        let squares = EveryCore.map(1000) { $0 * $0 }
        #expect(squares == (0..<1000).map { $0 * $0 })
    }
}
