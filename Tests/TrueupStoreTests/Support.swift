import Dispatch
import Foundation
import TrueupCore
import TrueupStore

/// A fresh state directory for one test, removed afterwards whatever happened.
enum StateDirectory {
    static func with<T>(_ body: (String) async throws -> T) async throws -> T {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("trueup-store-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }
}

/// Runs blocking work on its own Dispatch thread, so two writers really block side by side (as two
/// processes would) instead of taking turns on Swift's small cooperative pool.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// A plan JSON and revision for runs that only need to exist.
enum Sample {
    static let plan = #"{"changes":[]}"#

    static func revision(_ n: Int = 1) -> RevisionInfo {
        RevisionInfo(commit: String(repeating: String(n % 10), count: 40), author: "Ada <ada@example.com>", message: "change \(n)", time: 1_700_000_000)
    }
}
