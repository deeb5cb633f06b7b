import Dispatch
import Synchronization

/// Independent pieces of assembling a revision that need no snapshot (folders to collect,
/// environments to merge or to finish), done on every core.
enum EveryCore {
    /// `body` of each index in `0..<count`, the results in index order. Results are moved out,
    /// never copied: they can hold thousands of resources, and a copy costs a retain per field.
    static func map<Output: Sendable>(_ count: Int, _ body: @Sendable (Int) -> Output) -> [Output] {
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
}
