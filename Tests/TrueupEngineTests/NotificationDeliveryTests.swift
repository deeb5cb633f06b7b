import Foundation
import Testing
import TrueupTestSupport
import TrueupCore
@testable import TrueupEngine
import TrueupStore

/// The sender against real HTTP receivers on 127.0.0.1 (recording_receiver.py): retries, backoff,
/// timeouts, delivery ids, signatures, GitHub's request schemas, and what errors say.
@Suite("notification delivery", .serialized, .timeLimit(.minutes(5)))
final class NotificationDeliveryTests {
    static let canary = "ghp_CANARY_7f3a9c_never_print_me"
    static let secret = "It's a Secret to Everybody"
    static let revision = RevisionInfo(commit: "0123456789abcdef0123456789abcdef01234567", author: "Ada <ada@example.com>", message: "train longer")

    let state: String
    let store: StateStore

    init() throws {
        state = FileManager.default.temporaryDirectory.appendingPathComponent("trueup-notify-\(UUID().uuidString.prefix(8))").path
        store = try StateStore(stateDirectory: state)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: state)
    }

    var variables: [String: String] { ["GITHUB_TOKEN": Self.canary, "ALERT_SECRET": Self.secret] }

    func settings(_ receivers: [NotifyReceiver]) -> EnvironmentSettings {
        EnvironmentSettings(name: "staging", notify: receivers)
    }

    func record(_ event: NotifyReceiver.Event, _ receivers: [NotifyReceiver], runID: Int64? = 7, summary: String = "apply of staging failed: Job/train failed") throws -> [OutboxEntry] {
        let recorder = NotificationRecorder(environmentVariables: variables, warn: { _ in })
        let entries = recorder.entries(.init(event: event, revision: Self.revision, summary: summary, runID: runID,
                                             actions: [.init(resource: "Job/train", action: "create", status: "failed", error: "exit 1", logs: "trueup logs 7")]),
                                       settings: settings(receivers), at: Date().timeIntervalSince1970)
        try store.recordNotifications(entries, at: Date().timeIntervalSince1970)
        return entries
    }

    func webhook(_ receiver: RecordingReceiver) -> NotifyReceiver {
        NotifyReceiver(name: "oncall", type: .webhook, url: receiver.url + "/trueup", secretFromEnv: "ALERT_SECRET")
    }

    func github(_ receiver: RecordingReceiver) -> NotifyReceiver {
        NotifyReceiver(name: "github", type: .github, url: receiver.url, repository: "acme/ml-platform", tokenFromEnv: "GITHUB_TOKEN")
    }

    func sender(_ policy: DeliveryPolicy) -> NotificationSender {
        NotificationSender(store: store, policy: policy, environmentVariables: variables)
    }

    @Test("a webhook answering 503 three times gets the event once it recovers, with the same delivery id each time, signed so Python's hmac verifies it")
    func recoversAfter503s() async throws {
        let receiver = try RecordingReceiver(["--fail-first", "3"])
        let entries = try record(.failed, [webhook(receiver)])
        let attempts = await sender(DeliveryPolicy(sendTimeout: 5, baseDelay: 0.05, maxDelay: 0.2, maxAge: 120)).flush(within: 90)

        #expect(attempts.map(\.result) == [.retried, .retried, .retried, .delivered], "\(attempts)")
        let requests = receiver.requests
        #expect(requests.count == 4)
        let id = try #require(entries.first?.deliveryID)
        #expect(requests.allSatisfy { $0.header("X-Trueup-Delivery") == id && $0.json["id"] as? String == id }, "\(requests.map(\.headers))")
        #expect(requests.allSatisfy { $0.header("X-Trueup-Event") == "failed" && $0.path == "/trueup" })
        #expect(Set(requests.map(\.body)).count == 1, "every retry sends the same bytes")
        let event = requests[0].json
        #expect(event["environment"] as? String == "staging" && (event["revision"] as? [String: Any])?["commit"] as? String == Self.revision.commit)
        #expect(event["logsCommand"] as? String == "trueup logs 7")

        // The signature, checked the way a receiver would: Python's hmac, constant-time compare.
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", SourceTree.root.appendingPathComponent("Tests/Fixtures/notifications/verify_signature.py").path, receiver.record]
        check.environment = ProcessInfo.processInfo.environment.merging(["TRUEUP_TEST_SECRET": Self.secret]) { $1 }
        let out = Pipe()
        check.standardOutput = out
        try check.run()
        check.waitUntilExit()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(check.terminationStatus == 0 && printed.components(separatedBy: "ok \(id)").count == 5, "\(printed)")

        #expect(try store.notificationBacklog().isEmpty, "nothing left undelivered")
    }

    @Test("the signature is HMAC-SHA256 of the raw body: GitHub's published test vector")
    func signatureKnownAnswer() {
        #expect(WebhookReceiver.signature(body: Array("Hello, World!".utf8), secret: Self.secret)
            == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    }

    @Test("Retry-After is honoured")
    func retryAfter() async throws {
        let receiver = try RecordingReceiver(["--fail-first", "1", "--fail-status", "429", "--retry-after", "1"])
        _ = try record(.failed, [webhook(receiver)])
        let attempts = await sender(DeliveryPolicy(sendTimeout: 5, baseDelay: 0.01, maxDelay: 5, maxAge: 60)).flush(within: 10)
        #expect(attempts.map(\.result) == [.retried, .delivered], "\(attempts)")
        let times = receiver.requests.map(\.time)
        #expect(times.count == 2 && times[1] - times[0] >= 0.9, "\(times)")
    }

    @Test("a receiver that never answers holds a delivery pass no longer than the send timeout; the event stays pending")
    func hangingReceiverIsBounded() async throws {
        let receiver = try RecordingReceiver(["--hang"])
        _ = try record(.failed, [webhook(receiver)])
        let started = Date()
        let attempts = await sender(DeliveryPolicy(sendTimeout: 0.5, baseDelay: 30, maxDelay: 60, maxAge: 3600)).deliverDue()
        let seconds = Date().timeIntervalSince(started)
        // Far below forever (the receiver never answers), with room for a loaded machine.
        #expect(seconds < 15, "took \(seconds)s")
        #expect(attempts.map(\.result) == [.retried] && attempts[0].error?.contains("did not answer within 0.5s") == true, "\(attempts)")
        let backlog = try store.notificationBacklog()
        #expect(backlog.count == 1 && backlog[0].pending == 1 && backlog[0].receiver == "oncall", "\(backlog)")
    }

    @Test("past the bounded age a failing event is marked failed and counted")
    func givesUpAfterMaxAge() async throws {
        let receiver = try RecordingReceiver(["--fail-first", "1000"])
        _ = try record(.failed, [webhook(receiver)])
        let attempts = await sender(DeliveryPolicy(sendTimeout: 2, baseDelay: 0.1, maxDelay: 0.2, maxAge: 0.5)).flush(within: 10)
        #expect(attempts.last?.result == .failed && attempts.last?.error?.contains("gave up after") == true, "\(attempts)")
        let backlog = try store.notificationBacklog()
        #expect(backlog.first?.failed == 1 && backlog.first?.pending == 0, "\(backlog)")
    }

    @Test("GitHub: a commit status trueup/<env> pending then success, a deployment on the commit with in_progress then success, each body within GitHub's published schema")
    func gitHubRequests() async throws {
        let receiver = try RecordingReceiver()
        _ = try record(.started, [github(receiver)], summary: "applying staging at 0123456789ab: 2 to create")
        _ = try record(.succeeded, [github(receiver)], summary: String(repeating: "a long summary ", count: 30))
        let attempts = await sender(DeliveryPolicy(sendTimeout: 5, baseDelay: 0.05, maxDelay: 0.2, maxAge: 120)).flush(within: 90)
        #expect(attempts.map(\.result) == [.delivered, .delivered], "\(attempts)")

        let requests = receiver.requests
        let sha = Self.revision.commit
        #expect(requests.map { "\($0.method) \($0.path)" } == [
            "POST /repos/acme/ml-platform/statuses/\(sha)",
            "POST /repos/acme/ml-platform/deployments",
            "POST /repos/acme/ml-platform/deployments/1001/statuses",
            "POST /repos/acme/ml-platform/statuses/\(sha)",
            "POST /repos/acme/ml-platform/deployments/1001/statuses",
        ])
        for request in requests {
            #expect(request.header("Accept") == "application/vnd.github+json")
            #expect(request.header("X-GitHub-Api-Version") == "2022-11-28")
            #expect(request.header("User-Agent")?.isEmpty == false)
            #expect(request.header("Authorization") == "Bearer \(Self.canary)")
            let operation = request.path.hasSuffix("/deployments") ? "repos-create-deployment"
                : request.path.contains("/deployments/") ? "repos-create-deployment-status" : "repos-create-commit-status"
            let problems = try GitHubRequestSchema.problems(request.body, operation: operation)
            #expect(problems.isEmpty, "\(operation): \(problems) in \(request.body)")
            if let description = request.json["description"] as? String { #expect(description.count <= 140) }
        }
        #expect(requests.map { $0.json["state"] as? String } == ["pending", nil, "in_progress", "success", "success"])
        #expect(requests[0].json["context"] as? String == "trueup/staging" && requests[3].json["context"] as? String == "trueup/staging")
        let deployment = requests[1].json
        #expect(deployment["ref"] as? String == sha && deployment["environment"] as? String == "staging")
        #expect(deployment["auto_merge"] as? Bool == false && (deployment["required_contexts"] as? [Any])?.isEmpty == true)
    }

    @Test("GitHub's 401 or 404 names the receiver and the repository, never the token; the event fails at once")
    func gitHubRefusalNamesRepository() async throws {
        for status in ["401", "404"] {
            let receiver = try RecordingReceiver(["--fail-first", "1", "--fail-status", status])
            let entries = try record(.started, [github(receiver)])
            let attempts = await sender(DeliveryPolicy(sendTimeout: 5, baseDelay: 0.05, maxDelay: 0.2, maxAge: 60)).flush(within: 10)
                .filter { $0.deliveryID == entries[0].deliveryID }
            let error = try #require(attempts.first?.error)
            #expect(attempts.map(\.result) == [.failed], "\(attempts)")
            #expect(error.contains("receiver github") && error.contains("acme/ml-platform") && error.contains("HTTP \(status)"), "\(error)")
            #expect(!error.contains(Self.canary))
            #expect(receiver.requests.count == 1, "a refusal is not retried")
        }
        // Nor is the token anywhere in the state database.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: state + "/state.db"))
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: state + "/state.db-wal"))) ?? Data()
        #expect(bytes.range(of: Data(Self.canary.utf8)) == nil && wal.range(of: Data(Self.canary.utf8)) == nil)
    }

    @Test("events recorded by a process that died before sending are delivered by the next one, with their delivery ids")
    func deliveredAfterRestart() async throws {
        let receiver = try RecordingReceiver()
        let entries = try record(.failed, [webhook(receiver)])
        // A new process: a fresh store on the same file, nothing carried over in memory.
        let reopened = try StateStore(stateDirectory: state)
        let attempts = await NotificationSender(store: reopened, policy: DeliveryPolicy(sendTimeout: 5), environmentVariables: variables).flush(within: 10)
        #expect(attempts.map(\.result) == [.delivered])
        #expect(receiver.requests.map { $0.header("X-Trueup-Delivery") } == [entries[0].deliveryID])
    }
}

/// Checks a request body against an excerpt of GitHub's OpenAPI description kept in
/// Tests/Fixtures/notifications/github/ (see its README for the source).
enum GitHubRequestSchema {
    static func problems(_ text: String, operation: String) throws -> [String] {
        let file = SourceTree.root.appendingPathComponent("Tests/Fixtures/notifications/github/\(operation).json")
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] ?? [:]
        let schema = fixture["requestBody"] as? [String: Any] ?? [:]
        let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
        // Parsed with trueup's own JSON value so booleans stay booleans (Foundation makes them numbers).
        guard let body = try JSONValue.parse(Data(text.utf8)).objectValue else { return ["the body is not a JSON object"] }
        var problems: [String] = []
        for name in schema["required"] as? [String] ?? [] where body[name] == nil { problems.append("missing required \(name)") }
        for (name, value) in body {
            guard let property = properties[name] else { problems.append("\(name) is not a property of \(operation)"); continue }
            if let allowed = property["enum"] as? [String], !allowed.contains(value.stringValue ?? "") { problems.append("\(name) \(value) not in \(allowed)") }
            let types = (property["type"] as? [String]) ?? (property["type"] as? String).map { [$0] } ?? []
            if !types.isEmpty && !types.contains(where: { matches(value, $0) }) { problems.append("\(name) is not \(types)") }
        }
        return problems
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("string", .string), ("boolean", .bool), ("array", .array), ("object", .object), ("null", .null): true
        default: false
        }
    }
}
