import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
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

    @Test func withoutATokenTheAPIIsOpen() async throws {
        let controller = try InProcessController()
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/environments", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
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
        let controller = try InProcessController()
        try controller.lead()
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/environments/nope", method: .get) { response in
                #expect(response.status == .notFound)
                #expect((response.json["error"] as? String)?.contains("no environment named 'nope'") == true)
            }
            try await client.execute(uri: "/api/v1/environments/nope/sync", method: .post) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/runs/42", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.json["error"] is String)
            }
            try await client.execute(uri: "/api/v1/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect((response.json["error"] as? String)?.contains("no such endpoint") == true)
            }
        }
        controller.standBy()
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/environments/dev/sync", method: .post) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }
}
