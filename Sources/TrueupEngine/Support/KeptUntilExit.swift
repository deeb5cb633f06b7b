import Synchronization

/// Values a one-shot command keeps until the process exits instead of freeing them.
///
/// The desired and observed state of a few thousand resources are trees of many small
/// allocations: freeing them one by one took about a tenth of `trueup diff`, work that the
/// kernel does at once, for nothing, when the process exits. Only commands that exit right
/// after use it; a long-running process (the controller) must not.
public enum KeptUntilExit {
    private static let kept = Mutex<[any Sendable]>([])

    public static func keep(_ value: any Sendable) {
        kept.withLock { $0.append(value) }
    }

    /// An object (a loader and its parsed files): one retain that is never given back.
    public static func keep(retaining object: AnyObject) {
        _ = Unmanaged.passRetained(object)
    }
}
