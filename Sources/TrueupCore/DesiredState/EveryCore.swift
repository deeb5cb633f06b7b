import Dispatch
import Synchronization

/// Independent pieces of assembling a revision that need no snapshot (folders to collect,
/// environments to merge or to finish), done on every core.
public enum EveryCore {
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

    /// Frees `values` on every core and returns when they are freed. Freeing a tree of values is
    /// a walk over every node of it, and a large repository's parsed files took one core 150 ms
    /// to free while the other waited. `values` must hold the only references to what they hold
    /// (moved in, not copied), or what is shared is freed later by whoever holds it last.
    public static func release<Element: Sendable>(_ values: consuming [Element]) {
        var values = values
        let parts = min(SnapshotWork.availableCores, 8)
        guard parts > 1, values.count >= parts * 64 else { return }
        let size = (values.count + parts - 1) / parts
        // One slot per part, each initialized here and emptied by exactly one iteration below:
        // no two threads touch the same slot, so no lock is needed.
        let slots = UnsafeMutableBufferPointer<[Element]>.allocate(capacity: parts)
        defer { slots.deallocate() }
        var count = 0
        while !values.isEmpty {
            var chunk: [Element] = []
            chunk.reserveCapacity(size)
            while chunk.count < size, let last = values.popLast() { chunk.append(last) }
            slots.initializeElement(at: count, to: chunk)
            count += 1
        }
        nonisolated(unsafe) let shared = slots
        DispatchQueue.concurrentPerform(iterations: count) { index in
            _ = (shared.baseAddress! + index).move()
        }
    }
}
