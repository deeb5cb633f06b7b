import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TrueupCore
@testable import TrueupController

/// The API's access rules and error shapes, in process.
@Suite("HTTP API: access and errors")
struct APIRouteTests {
    @Test func theBearerTokenIsEnforcedWhenConfigured() async throws {
        let controller = try InProcessController(apiToken: "t0ken")
        try controller.lead()
        try await controller.test { client in
            for headers in [[:], [.authorization: "Bearer wrong"], [.authorization: "t0ken"], [.authorization: "Bearer t0ke"]] as [HTTPFields] {
                try await client.execute(uri: "/api/v1/environments", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    #expect((response.json["error"] as? String)?.contains("--api-token-env") == true)
                    #expect(!response.text.contains("t0ken"))
                }
            }
            try await client.execute(uri: "/api/v1/environments", method: .get, headers: [.authorization: "Bearer t0ken"]) { response in
                #expect(response.status == .ok)
                #expect(response.json["environments"] is [Any])
            }
            // POST needs the token too.
            try await client.execute(uri: "/api/v1/environments/dev/sync", method: .post) { response in
                #expect(response.status == .unauthorized)
            }
            // Health, readiness and metrics stay open for probes and scrapers.
            for uri in ["/healthz", "/readyz", "/metrics"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status != .unauthorized, "\(uri)")
                }
            }
            // A browser is sent to sign in; the dashboard cookie it then gets reads, but does not write.
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "/login")
            }
            let cookie = try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=t0ken")) { response in
                #expect(response.status == .seeOther)
                return response.headers[.setCookie] ?? ""
            }
            #expect(cookie.contains("HttpOnly") && !cookie.contains("t0ken"))
            let session = String(cookie.prefix { $0 != ";" })
            try await client.execute(uri: "/", method: .get, headers: [.cookie: session]) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("<h1>trueup</h1>"))
            }
            try await client.execute(uri: "/api/v1/environments/dev/sync", method: .post, headers: [.cookie: session]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=nope")) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    /// Without --api-token-env the API is closed all the same: the controller makes a token in
    /// its state directory, readable by its user only, and keeps it across restarts.
    @Test func withoutAGivenTokenOneIsMadeInTheStateDirectoryAndRequired() async throws {
        let controller = try InProcessController()
        try controller.lead()
        let file = controller.folder + "/state/api-token"
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
        #expect(mode == 0o600, "mode \(String(mode, radix: 8))")
        let token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.count >= 32)
        #expect(controller.context.configuration.apiTokenFile == file && controller.context.configuration.apiTokenCreated)
        #expect(Controller.tokenSource(controller.context.configuration).contains(file))
        #expect(!Controller.tokenSource(controller.context.configuration).contains(token), "the log says where the token is, never what")
        try await controller.test { client in
            for (method, uri) in [(HTTPRequest.Method.get, "/api/v1/environments"), (.post, "/api/v1/environments/dev/sync"), (.get, "/api/v1/runs"), (.get, "/api/v1/runs/1/logs")] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .unauthorized, "\(method) \(uri)")
                }
            }
            try await client.execute(uri: "/api/v1/environments", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                #expect(response.status == .ok)
            }
            for uri in ["/healthz", "/metrics"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                }
            }
            // The dashboard asks for the token before it shows anything, Sync buttons included.
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .found && response.headers[.location] == "/login")
            }
        }
        // A second start on the same state directory keeps the token.
        let again = try Controller(ControllerConfiguration(repository: controller.folder + "/nowhere.git", stateDirectory: controller.folder + "/state", holder: "other"),
                                   logger: Logger(label: "test"))
        #expect(again.context.configuration.apiToken == token && !again.context.configuration.apiTokenCreated)
    }

    @Test func aTokenFileOthersCanReadIsRefused() throws {
        let folder = try TemporaryFolder.make("trueup-token")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/state", withIntermediateDirectories: true)
        try "shared-secret\n".write(toFile: folder + "/state/api-token", atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: folder + "/state/api-token")
        #expect {
            try Controller(ControllerConfiguration(repository: folder + "/nowhere.git", stateDirectory: folder + "/state"), logger: Logger(label: "test"))
        } throws: { error in
            let text = "\(error)"
            return text.contains("chmod 600 \(folder)/state/api-token") && !text.contains("shared-secret")
        }
    }

    @Test func metricsCanBeClosed() async throws {
        let folder = try TemporaryFolder.make("trueup-metrics")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let controller = try Controller(
            ControllerConfiguration(repository: folder + "/nowhere.git", stateDirectory: folder + "/state", apiToken: "m3trics", metricsNeedToken: true),
            logger: Logger(label: "test"))
        try await Application(router: controller.router).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer m3trics"]) { response in
                #expect(response.status == .ok && response.text.contains("trueup_"))
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    /// The dashboard's Sync button: behind the session and the page's form key.
    @Test func theDashboardSyncButtonNeedsTheSessionAndTheFormKey() async throws {
        let controller = try InProcessController(apiToken: "s3ssion")
        try controller.lead()
        controller.context.status.update { $0.environments["dev"] = .init(name: "dev") }
        try await controller.test { client in
            let cookie = try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=s3ssion")) { response in
                String((response.headers[.setCookie] ?? "").prefix { $0 != ";" })
            }
            let page = try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie]) { $0.text }
            #expect(page.contains(#"<button type="submit" data-sync="dev">Sync</button>"#), "\(page)")
            let key = AccessControl<BasicRequestContext>.formKey(for: "s3ssion")
            #expect(page.contains(key) && !page.contains("s3ssion"))
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: cookie]
            // Without the session, or without the key, nothing is queued.
            try await client.execute(uri: "/sync/dev", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "key=\(key)")) { response in
                #expect(response.status == .found && response.headers[.location] == "/login")
            }
            try await client.execute(uri: "/sync/dev", method: .post, headers: form, body: ByteBuffer(string: "key=wrong")) { response in
                #expect(response.status == .forbidden)
            }
        }
        let queued = await controller.nextMessage(within: 0.5)
        #expect(queued == nil, "no sync was queued")
    }

    @Test func timestampsAreRFC3339Strings() async throws {
        let controller = try InProcessController(apiToken: "t0ken")
        try controller.lead()
        let run = try controller.store.startRun(environment: "dev", trigger: "cli", revision: RevisionInfo(commit: String(repeating: "a", count: 40)),
                                                planJSON: "{}", logDirectory: controller.folder + "/logs", at: 1_790_000_000.25)
        try controller.store.finishRun(run, outcome: "succeeded", at: 1_790_000_002.5)
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/runs/\(run)", method: .get, headers: [.authorization: "Bearer t0ken"]) { response in
                #expect(response.json["startedAt"] as? String == "2026-09-21T14:13:20.250Z", "\(response.text)")
                #expect(response.json["finishedAt"] as? String == "2026-09-21T14:13:22.500Z", "\(response.text)")
            }
        }
    }

    @Test func readinessFollowsLeadership() async throws {
        let controller = try InProcessController()
        controller.standBy()
        try await controller.test { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect((response.json["reason"] as? String)?.contains("standby") == true)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        try controller.lead()
        controller.context.status.update { $0.source.head = .init(commit: String(repeating: "a", count: 40)) }
        try await controller.test { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func errorsAreJSONSayingWhatToDo() async throws {
        let controller = try InProcessController(apiToken: "t0ken")
        let bearer: HTTPFields = [.authorization: "Bearer t0ken"]
        try controller.lead()
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/environments/nope", method: .get, headers: bearer) { response in
                #expect(response.status == .notFound)
                #expect((response.json["error"] as? String)?.contains("no environment named 'nope'") == true)
            }
            try await client.execute(uri: "/api/v1/environments/nope/sync", method: .post, headers: bearer) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/runs/42", method: .get, headers: bearer) { response in
                #expect(response.status == .notFound)
                #expect(response.json["error"] is String)
            }
            try await client.execute(uri: "/api/v1/nothing-here", method: .get, headers: bearer) { response in
                #expect(response.status == .notFound)
                #expect((response.json["error"] as? String)?.contains("no such endpoint") == true)
            }
        }
        controller.standBy()
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/environments/dev/sync", method: .post, headers: bearer) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }
}
