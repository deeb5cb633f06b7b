import Dispatch
import Synchronization

/// A large value freed on another thread while this one goes on: a plan of 33,000 resources is
/// rendered while the desired state it was made from (every resource, every parsed document) is
/// freed, which took a fifth of a second on the rendering thread. `wait()` before the command
/// returns, so that nothing is left half freed when the process ends.
struct ReleasedElsewhere {
    private let done = DispatchGroup()

    init<Value: Sendable>(_ value: consuming Value) {
        let box = Box(value)
        DispatchQueue.global().async(group: done) { box.release() }
    }

    func wait() { done.wait() }

    private final class Box<Value: Sendable>: Sendable {
        private let value: Mutex<Value?>
        init(_ value: consuming Value) { self.value = Mutex(value) }
        /// Freed inside the block, so that `wait` returns only once it is.
        func release() { value.withLock { $0 = nil } }
    }
}
