import Foundation
import Synchronization
import Testing
@testable import TrueupCore

@Suite("Worker heaps")
struct WorkerHeapTests {
    /// The kernel's flags of the mapping that holds `address`, from /proc/self/smaps.
    private func mappingFlags(of address: UInt) throws -> [Substring] {
        // Read to the end: /proc files have no size, and reading by size would stop at 4 KiB.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var inside = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
               let low = UInt(line[..<dash], radix: 16), let high = UInt(line[line.index(after: dash)..<space], radix: 16) {
                inside = (low..<high).contains(address)
            } else if inside, line.hasPrefix("VmFlags:") {
                return line.dropFirst("VmFlags:".count).split(separator: " ")
            }
        }
        return []
    }

    /// `WorkerHeap` finds a thread's heap from glibc's layout (heaps aligned to 64 MiB): should
    /// that layout change, the advice would silently miss, and this says so. (The process-wide
    /// malloc settings of `enableForThisProcess` are left alone: this process runs other tests.)
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled")))
    func aThreadsHeapIsFoundAndAdvisedForHugePages() throws {
        let programBreak = UInt(bitPattern: sbrk(0))
        let block = try #require(Thread.runAndWait {
            // A thread of its own, which glibc gives a heap of its own (not the main one).
            let block = malloc(256)!
            WorkerHeap.adviseHeap(containing: UInt(bitPattern: block))
            return UInt(bitPattern: block)
        })
        defer { free(UnsafeMutableRawPointer(bitPattern: block)) }
        try #require(block > programBreak, "the thread's block came from the main heap")
        // "hg": MADV_HUGEPAGE was applied to the mapping.
        #expect(try mappingFlags(of: block).contains("hg"), "block at \(String(block, radix: 16)) is in a heap without huge-page advice")
    }
}

private extension Thread {
    /// `body` on a new thread, its result once it returns.
    static func runAndWait(_ body: @escaping @Sendable () -> UInt) -> UInt? {
        let result = Mutex<UInt?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let value = body()
            result.withLock { $0 = value }
            done.signal()
        }
        thread.start()
        done.wait()
        return result.withLock { $0 }
    }
}
