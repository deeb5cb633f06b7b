import Dispatch
import Synchronization

/// Independent pieces of work done on every core: folders to collect, environments to merge or
/// to finish, resources of one dependency level to plan.
public enum EveryCore {
    /// `body` of each index in `0..<count`, the results in index order. Results are moved out,
    /// never copied: they can hold thousands of resources, and a copy costs a retain per field.
    public static func map<Output: Sendable>(_ count: Int, _ body: @Sendable (Int) -> Output) -> [Output] {
        let done = Mutex<[Int: Output]>([:])
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let output = body(index)
            done.withLock { $0[index] = output }
        }
        var byIndex = done.withLock { done in
            defer { done = [:] }
            return done
        }
        return (0..<count).map { byIndex.removeValue(forKey: $0)! }
    }

    /// `body` of consecutive ranges that together cover `0..<count`, the results in range order.
    /// Items that take microseconds each are worth spreading only in runs of many: one task per
    /// item would cost more in hand-offs than the item itself. Fewer than two runs of `minimum`
    /// are one range, done on the calling thread.
    public static func map<Output: Sendable>(rangesOf count: Int, atLeast minimum: Int, _ body: @Sendable (Range<Int>) -> Output) -> [Output] {
        let pieces = max(1, min(SnapshotWork.availableCores * 4, count / max(1, minimum)))
        guard pieces > 1 else { return [body(0..<count)] }
        let size = (count + pieces - 1) / pieces
        return map(pieces) { piece in body(min(count, piece * size)..<min(count, (piece + 1) * size)) }
    }
}
