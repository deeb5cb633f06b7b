import Foundation
import Glibc
@testable import TrueupBackends

/// A temporary folder for one test, removed when the test's value goes away.
final class TemporaryFolder {
    let path: String

    init() throws {
        let base = (NSTemporaryDirectory() as NSString).appendingPathComponent("trueup-processes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }

    func child(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Creates a folder inside and returns its path.
    func folder(_ name: String) throws -> String {
        let folder = child(name)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: child(name), atomically: true, encoding: .utf8)
    }

    func read(_ name: String) -> String? { try? String(contentsOfFile: child(name), encoding: .utf8) }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The minimal environment a child needs to find `sh`, `sleep` and `python3`.
var childEnvironment: [String: String] {
    ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"]
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try condition()
}

/// True when a process with this pid runs (zombies do not: this sandbox's init never reaps them).
func isRunning(_ pid: pid_t) -> Bool {
    ProcessTable.status(of: pid)?.isRunning ?? false
}
