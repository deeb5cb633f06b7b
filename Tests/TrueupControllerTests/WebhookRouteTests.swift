import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrueupController

/// The webhook endpoints in process, over a real state store: what each kind of request gets.
@Suite("Webhook endpoints")
struct WebhookRouteTests {
    static let secret = WebhookVerificationTests.secret
    static let body = "Hello, World!"
    static let signature = WebhookVerificationTests.signature

    static func github(signature: String? = WebhookRouteTests.signature, delivery: String? = "d-1", event: String = "push") -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json", .init("X-GitHub-Event")!: event]
        if let signature { headers[.init("X-Hub-Signature-256")!] = signature }
        if let delivery { headers[.init("X-GitHub-Delivery")!] = delivery }
        return headers
    }

    @Test func aSignedPushIsQueuedAtOnceAndItsRedeliveryIsANoOp() async throws {
        let controller = try InProcessController(webhookSecret: Self.secret)
        try controller.lead()
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/webhooks/github", method: .post, headers: Self.github(), body: ByteBuffer(string: Self.body)) { response in
                #expect(response.status == .accepted)
            }
        }
        guard case .fetchNow(let why)? = await controller.nextMessage() else {
            Issue.record("the loop was not asked to fetch")
            return
        }
        #expect(why.contains("GitHub push"))
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/webhooks/github", method: .post, headers: Self.github(), body: ByteBuffer(string: Self.body)) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("duplicate"))
            }
        }
        #expect(await controller.nextMessage(within: 1) == nil, "a redelivery queues nothing")
        #expect(controller.context.metrics.render().contains(#"trueup_webhooks_total{provider="github",result="duplicate"} 1"#))
    }

    @Test func missingOrWrongSignaturesGet401AndQueueNothing() async throws {
        let controller = try InProcessController(webhookSecret: Self.secret)
        try controller.lead()
        let wrong = String(Self.signature.dropLast()) + "0"
        try await controller.test { client in
            for headers in [Self.github(signature: nil), Self.github(signature: wrong), Self.github(signature: "")] {
                try await client.execute(uri: "/api/v1/webhooks/github", method: .post, headers: headers, body: ByteBuffer(string: Self.body)) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.json["error"] is String)
                    #expect(!response.text.contains(Self.secret), "never echoes the secret")
                    #expect(!response.text.contains(wrong), "nor the request")
                }
            }
            // A body changed after signing.
            try await client.execute(uri: "/api/v1/webhooks/github", method: .post, headers: Self.github(), body: ByteBuffer(string: Self.body + " ")) { response in
                #expect(response.status == .unauthorized)
            }
        }
        #expect(await controller.nextMessage(within: 1) == nil)
    }

    @Test func aBodyAboveOneMebibyteGets413() async throws {
        let controller = try InProcessController(webhookSecret: Self.secret)
        try controller.lead()
        let large = String(repeating: "x", count: (1 << 20) + 1)
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/webhooks/github", method: .post, headers: Self.github(), body: ByteBuffer(string: large)) { response in
                #expect(response.status == .contentTooLarge)
                #expect((response.json["error"] as? String)?.contains("1024 KiB") == true)
            }
            // Exactly 1 MiB is read (and then judged on its signature).
            let limit = String(repeating: "x", count: 1 << 20)
            try await client.execute(uri: "/api/v1/webhooks/github", method: .post, headers: Self.github(), body: ByteBuffer(string: limit)) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func withoutASecretEveryWebhookIsRefused() async throws {
        let controller = try InProcessController(webhookSecret: nil)
        try controller.lead()
        try await controller.test { client in
            for uri in ["/api/v1/webhooks/github", "/api/v1/webhooks/gitlab"] {
                try await client.execute(uri: uri, method: .post, headers: Self.github(), body: ByteBuffer(string: Self.body)) { response in
                    #expect(response.status == .forbidden)
                    #expect((response.json["error"] as? String)?.contains("--webhook-secret-env") == true)
                }
            }
        }
        #expect(await controller.nextMessage(within: 1) == nil)
    }

    @Test func aDeliveryWithoutAnIdIsRefused() async throws {
        let controller = try InProcessController(webhookSecret: Self.secret)
        try controller.lead()
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/webhooks/github", method: .post, headers: Self.github(delivery: nil), body: ByteBuffer(string: Self.body)) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func aPingIsAnsweredWithoutFetching() async throws {
        let controller = try InProcessController(webhookSecret: Self.secret)
        try controller.lead()
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/webhooks/github", method: .post, headers: Self.github(event: "ping"), body: ByteBuffer(string: Self.body)) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(await controller.nextMessage(within: 1) == nil)
    }

    @Test func gitlabTokenAndEventUUID() async throws {
        let controller = try InProcessController(webhookSecret: "gl-secret")
        try controller.lead()
        @Sendable func headers(token: String?, uuid: String = "u-1") -> HTTPFields {
            var headers: HTTPFields = [.init("X-Gitlab-Event")!: "Push Hook", .init("X-Gitlab-Event-UUID")!: uuid]
            if let token { headers[.init("X-Gitlab-Token")!] = token }
            return headers
        }
        try await controller.test { client in
            for token in [nil, "gl-secre", "wrong"] as [String?] {
                try await client.execute(uri: "/api/v1/webhooks/gitlab", method: .post, headers: headers(token: token), body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/api/v1/webhooks/gitlab", method: .post, headers: headers(token: "gl-secret"), body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .accepted)
            }
            try await client.execute(uri: "/api/v1/webhooks/gitlab", method: .post, headers: headers(token: "gl-secret"), body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .ok, "the same X-Gitlab-Event-UUID again")
            }
        }
        guard case .fetchNow(let why)? = await controller.nextMessage() else {
            Issue.record("the loop was not asked to fetch")
            return
        }
        #expect(why.contains("GitLab Push Hook"))
    }

    @Test func aStandbyControllerSendsWebhooksToTheLeaderAndRecordsNothing() async throws {
        let controller = try InProcessController(webhookSecret: Self.secret)
        controller.standBy()
        try await controller.test { client in
            try await client.execute(uri: "/api/v1/webhooks/github", method: .post, headers: Self.github(), body: ByteBuffer(string: Self.body)) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
        // Once it leads, the same delivery is new to it: the standby recorded nothing.
        try controller.lead()
        #expect(try controller.store.recordDelivery("github:d-1"))
    }
}
