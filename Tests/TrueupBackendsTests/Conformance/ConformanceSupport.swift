// Helpers the conformance checks share. Nothing here knows a particular backend: a backend's own
// test file (Local, later MLflow and Ray) builds the subjects and passes them in.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import Testing

/// A folder under the system's temporary directory (or under `root`: a folder a remote backend
/// also sees), removed by `remove()`.
struct ScratchFolder: Sendable {
    let path: String

    init(_ label: String = "trueup-conformance", under root: String? = nil) throws {
        path = ((root ?? NSTemporaryDirectory()) as NSString).appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Runs `body` with a fresh folder and removes the folder afterwards, whatever happened.
    static func with<T>(_ label: String = "trueup-conformance", under root: String? = nil, _ body: (ScratchFolder) async throws -> T) async throws -> T {
        let folder = try ScratchFolder(label, under: root)
        do {
            let result = try await body(folder)
            folder.remove()
            return result
        } catch {
            folder.remove()
            throw error
        }
    }
}

enum Files {
    static func write(_ text: String, to path: String, executable: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
    }

    static func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// The non-empty lines of a file; none when it does not exist.
    static func lines(_ path: String) -> [String] {
        (read(path) ?? "").split(separator: "\n").map(String.init)
    }
}

/// Names that a shared, long-lived backend (a real MLflow or Ray) will not have seen before, so a
/// check never trips over what an earlier run left behind.
enum UniqueName {
    static func make(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// A deterministic 32-hex-digit digest (two FNV-1a 64 passes), for config hashes in requests.
enum StableHash {
    static func hex(_ text: String) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            var hash = seed
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return hash
        }
        let digits = [fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4)].map { String($0, radix: 16) }
        return digits.map { String(repeating: "0", count: 16 - $0.count) + $0 }.joined()
    }
}

/// What /proc says about a process (Linux). A zombie has exited: it only waits to be collected.
enum LiveProcess {
    static func isRunning(_ pid: pid_t) -> Bool {
        guard pid > 0, let stat = Files.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }
}

/// Plain HTTP GET for checking an endpoint from the outside, as a client of the service would.
enum HTTPClient {
    struct Response: Sendable {
        var status: Int
        var body: String
    }

    /// nil when nothing answers (connection refused, timeout).
    static func get(_ url: String, timeoutSeconds: Double = 5) async -> Response? {
        await send(url, method: "GET", body: nil, timeoutSeconds: timeoutSeconds)
    }

    /// A POST of a JSON body; nil when nothing answers.
    static func post(_ url: String, body: String, timeoutSeconds: Double = 20) async -> Response? {
        await send(url, method: "POST", body: body, timeoutSeconds: timeoutSeconds)
    }

    static func send(_ url: String, method: String, body: String?, timeoutSeconds: Double) async -> Response? {
        guard let url = URL(string: url) else { return nil }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url)
        request.cachePolicy = .reloadIgnoringLocalCacheData
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        guard let (data, response) = try? await session.data(for: request), let http = response as? HTTPURLResponse else { return nil }
        return Response(status: http.statusCode, body: String(decoding: data, as: UTF8.self))
    }

    /// `endpoint` joined with `path` (`/` between them exactly once).
    static func url(_ endpoint: String, _ path: String) -> String {
        (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + (path.hasPrefix("/") ? path : "/" + path)
    }
}

/// Runs `body`, then `cleanup` whatever happened: `defer` cannot await, and a check must stop
/// every process it started even when an expectation throws.
func withCleanup<T>(_ body: () async throws -> T, cleanup: () async -> Void) async throws -> T {
    do {
        let result = try await body()
        await cleanup()
        return result
    } catch {
        await cleanup()
        throw error
    }
}

/// The error's text as a user would see it.
func message(of error: any Error) -> String { String(describing: error) }
