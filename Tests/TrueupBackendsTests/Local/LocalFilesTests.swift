import Dispatch
import Foundation
import Testing
@testable import TrueupBackends

/// Content-addressed places (a dataset version, a model version, a job's code tree) are written by
/// several actions of one apply at once when their content is the same.
struct LocalFilesTests {
    @Test func copiesToOneDestinationAtOnceAllSucceedWithOneCompleteCopy() throws {
        let scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("trueup-files-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let source = scratch + "/features.csv"
        let bytes = Data(String(repeating: "id,feature\n1,0.5\n", count: 1_500_000).utf8)
        try bytes.write(to: URL(fileURLWithPath: source))
        for round in 0..<3 {
            let destination = scratch + "/catalog-\(round)/features.csv"
            let failures = DispatchQueue.concurrentPerformFailures(8) {
                try LocalFiles.copyAtomically(from: source, to: destination)
            }
            #expect(failures.isEmpty, "round \(round): \(failures.first ?? "")")
            #expect(FileManager.default.contents(atPath: destination) == bytes)
            let left = try FileManager.default.contentsOfDirectory(atPath: scratch + "/catalog-\(round)")
            #expect(left == ["features.csv"], "no temporary copy is left behind: \(left)")
        }
    }
}

extension DispatchQueue {
    /// Runs `work` on `count` threads at once; the descriptions of the errors thrown.
    static func concurrentPerformFailures(_ count: Int, _ work: @Sendable () throws -> Void) -> [String] {
        let failures = NSLock()
        nonisolated(unsafe) var found: [String] = []
        concurrentPerform(iterations: count) { _ in
            do { try work() } catch {
                failures.lock()
                found.append("\(error)")
                failures.unlock()
            }
        }
        return found
    }
}
