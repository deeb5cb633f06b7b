#if canImport(Glibc)
import CMalloc
import Glibc
#endif
import Synchronization

/// Larger, huge-page-backed malloc heaps for a process that lives for one command.
///
/// Loading a repository allocates some tens of megabytes of small blocks within tens of
/// milliseconds: trees, typed values, resources. With glibc's defaults every 4 KiB page of that
/// is a page fault of its own (5,400 for the benchmark repository, a tenth of its run, with the
/// threads queueing on the process's memory-map lock besides), and glibc hands the top of a heap
/// back to the kernel whenever 128 KiB of it are free, to fault it in again moments later. glibc
/// does better when told so through GLIBC_TUNABLES (`glibc.malloc.top_pad=64MiB` and
/// `glibc.malloc.hugetlb=1`: 1,300 faults, a run 10% shorter), but reads those only as the process
/// starts, which a command cannot ask of its own start. So the same is done from inside:
/// - `mallopt` makes each heap start 64 MiB long instead of growing page by page, and never
///   shrink before exit (most of the gain);
/// - each heap is marked `MADV_HUGEPAGE` (what `hugetlb=1` does), so that the kernel backs it with
///   2 MiB pages where the system allows it (its "madvise" mode): the main heap here, and a worker
///   thread's heap when the thread starts its share of the work (`SnapshotWork`, `EveryCore`).
/// (This gets 2,800 faults, and about the same time as the tunables.)
/// glibc places a thread's heap at an address aligned to its largest size (HEAP_MAX_SIZE, 64 MiB
/// on 64-bit systems), so any block the thread allocates names its heap. All of it is advice: were
/// that layout different, or huge pages unavailable, memory would be advised in vain, never used
/// differently.
public enum WorkerHeap {
    private static let enabled = Atomic<Bool>(false)
    private static let heapSize = 64 << 20
    private static let hugePage = UInt(2 << 20)

    /// For commands that exit when done (not the controller), before the threads that do their
    /// work start.
    public static func enableForThisProcess() {
        #if canImport(Glibc)
        guard mallopt(M_TOP_PAD, Int32(heapSize)) == 1, mallopt(M_TRIM_THRESHOLD, Int32.max) == 1 else { return }
        enabled.store(true, ordering: .relaxed)
        adviseMainHeap()
        #endif
    }

    /// Called by each worker thread before its work.
    static func adviseThisThread() {
        #if canImport(Glibc)
        guard enabled.load(ordering: .relaxed), let block = malloc(16) else { return }
        adviseHeap(containing: UInt(bitPattern: block))
        free(block)
        #endif
    }

    /// Marks the thread heap that holds `address` for huge pages (the main heap is advised by
    /// `enableForThisProcess`). Every time it is asked, not once per heap: glibc unmaps a thread's
    /// additional heap once all of it is free, and a heap mapped at the same place later is a new
    /// mapping, without the advice.
    static func adviseHeap(containing address: UInt) {
        #if canImport(Glibc)
        // Below the program break: the main heap.
        guard let programBreak = sbrk(0), address > UInt(bitPattern: programBreak) else { return }
        let heap = address & ~UInt(heapSize - 1)
        // Its first 2 MiB stay small pages: glibc wrote its bookkeeping there before this advice.
        // (Collapsing them with MADV_COLLAPSE cost more than the faults it saved.)
        _ = madvise(UnsafeMutableRawPointer(bitPattern: heap), heapSize, MADV_HUGEPAGE)
        #endif
    }

    #if canImport(Glibc)
    /// The main thread's heap is the program break, which glibc now moves 64 MiB at a time: moved
    /// once here (blocks are taken until it does), then advised from the first whole huge page.
    private static func adviseMainHeap() {
        guard let start = sbrk(0) else { return }
        var taken: [UnsafeMutableRawPointer] = []
        taken.reserveCapacity(8)
        // Below glibc's mmap threshold (128 KiB), so taken from the heap; at most a few.
        while taken.count < 8, sbrk(0) == start, let block = malloc(96 << 10) { taken.append(block) }
        for block in taken { free(block) }
        guard let end = sbrk(0), end != start else { return }
        let first = (UInt(bitPattern: start) + hugePage - 1) & ~(hugePage - 1)
        let last = UInt(bitPattern: end)
        if last > first { _ = madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_HUGEPAGE) }
    }
    #endif
}
