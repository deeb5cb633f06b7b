import Dispatch
import Foundation
import Synchronization

/// Independent items (spec files to parse, resources to validate) spread over threads, each
/// thread with a snapshot of its own (opened again for it, or the waiting caller's): libgit2
/// objects may be used by one thread at a time. Each thread takes items in batches from a shared
/// counter, so a slow item does not leave a core idle, and keeps `State` built on its snapshot
/// across its items.
public enum SnapshotWork {
    /// The cores this process may use. Asked once: Foundation reads the cgroup's CPU quota from
    /// files on every call, which cost more than a hundred files' worth of parsing.
    public static let availableCores = ProcessInfo.processInfo.activeProcessorCount

    /// The results by index. An item is nil when no thread did it, because every thread that
    /// could have failed to open its snapshot: the caller does those itself, on its own snapshot.
    /// `finish` sees each thread's state once its items are done, to hand on what it learnt.
    ///
    /// `caller` is the calling thread's own snapshot, which it does not touch until this returns
    /// (it waits for every thread): one thread works on it instead of opening another. Opening a
    /// repository again (its packs' indexes, the commit, the root tree) cost as much as parsing
    /// a dozen files, and loading three environments opens it on every core several times.
    public static func map<State, Output: Sendable>(
        count: Int, workers: Int, batch: Int = 1, opener: any SnapshotOpener, caller: (any SourceSnapshot)? = nil,
        state makeState: @Sendable (any SourceSnapshot) -> State,
        finish: @Sendable (inout State) -> Void = { _ in },
        _ body: @Sendable (inout State, Int) -> Output
    ) -> [Output?] {
        let next = Atomic<Int>(0)
        // Each thread's results as one array, handed over whole: appending them element by
        // element would copy (retain) every field of thousands of resources.
        let finished = Mutex<[[(Int, Output)]]>([])
        // Used by worker 0 alone, while the caller waits in `concurrentPerform`.
        nonisolated(unsafe) let caller = caller
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            guard let snapshot = worker == 0 ? caller ?? (try? opener.open()) : try? opener.open() else { return }
            var state = makeState(snapshot)
            var done: [(Int, Output)] = []
            while true {
                let first = next.add(batch, ordering: .relaxed).oldValue
                guard first < count else { break }
                for index in first..<min(first + batch, count) { done.append((index, body(&state, index))) }
            }
            finish(&state)
            finished.withLock { $0.append(done) }
        }
        // Moved out, not copied: results can be thousands of resources.
        var threads = finished.withLock { finished in
            defer { finished = [] }
            return finished
        }
        var ordered = [Output?](repeating: nil, count: count)
        while var done = threads.popLast() {
            while let (index, output) = done.popLast() { ordered[index] = output }
        }
        return ordered
    }
}
