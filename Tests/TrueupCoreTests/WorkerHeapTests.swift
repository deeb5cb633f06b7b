import Foundation
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
    /// that layout change, the advice would silently miss, and this says so.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled")))
    func aWorkerThreadsHeapIsAdvisedForHugePages() throws {
        WorkerHeap.enableForThisProcess()
        let programBreak = UInt(bitPattern: sbrk(0))
        // A block allocated on each worker after its advice; the main heap's blocks lie below the break.
        let blocks = EveryCore.map(4) { _ in
            let block = malloc(256)!
            defer { free(block) }
            return UInt(bitPattern: block)
        }
        let workerBlocks = blocks.filter { $0 > programBreak }
        try #require(!workerBlocks.isEmpty, "every block came from the main heap: no worker heap to check")
        for block in workerBlocks {
            // "hg": MADV_HUGEPAGE was applied to the mapping.
            #expect(try mappingFlags(of: block).contains("hg"), "block at \(String(block, radix: 16)) is in a heap without huge-page advice")
        }
    }
}
