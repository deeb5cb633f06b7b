import Foundation

/// Tests/Fixtures/notifications/recording_receiver.py running on 127.0.0.1: every request it
/// gets, as it got it. Stopped (by its pid) when released.
final class RecordingReceiver {
    struct Request {
        var method: String
        var path: String
        var headers: [String: String]
        var body: String
        var time: Double

        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    static let script = ControllerProcess.packageRoot + "/Tests/Fixtures/notifications/recording_receiver.py"
    let folder: String
    let record: String
    let port: Int
    private let process = Process()

    var url: String { "http://127.0.0.1:\(port)" }

    init(_ options: [String] = [], port wanted: Int? = nil) throws {
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
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    var requests: [Request] {
        guard let text = try? String(contentsOfFile: record, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(method: object["method"] as? String ?? "", path: object["path"] as? String ?? "",
                           headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "",
                           time: object["time"] as? Double ?? 0)
        }
    }
}

struct ReceiverError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
