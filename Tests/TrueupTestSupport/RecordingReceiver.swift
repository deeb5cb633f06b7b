import Foundation

/// Tests/Fixtures/notifications/recording_receiver.py running on 127.0.0.1: every request it
/// gets, as it got it. Stopped (by its pid) when released. Shared by the engine, CLI and controller
/// tests (this target is theirs only; nothing of trueup depends on it).
public final class RecordingReceiver {
    public struct Request {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: String
        public var time: Double

        public func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    /// Tests/TrueupTestSupport/RecordingReceiver.swift -> Tests/Fixtures/notifications/.
    public static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/notifications/recording_receiver.py").path
    public let folder: String
    public let record: String
    public let port: Int
    private let process = Process()

    public var url: String { "http://127.0.0.1:\(port)" }

    public init(_ options: [String] = [], port wanted: Int? = nil) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("trueup-receiver-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        record = folder + "/requests.jsonl"
        let portFile = folder + "/port"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script, "--record", record, "--port-file", portFile] + options + (wanted.map { ["--port", String($0)] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        var found: Int?
        while found == nil && Date() < deadline {
            found = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
            if found == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let found else {
            process.terminate()
            throw ReceiverError("the recording receiver did not start within 30 s")
        }
        port = found
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Stops the receiver (its pid only); what it recorded stays readable.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public var requests: [Request] {
        guard let text = try? String(contentsOfFile: record, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(method: object["method"] as? String ?? "", path: object["path"] as? String ?? "",
                           headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "",
                           time: object["time"] as? Double ?? 0)
        }
    }
}

public struct ReceiverError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
