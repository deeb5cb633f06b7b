import Foundation
import Testing
@testable import TrueupController

@Suite("Webhook verification: signatures and tokens")
struct WebhookVerificationTests {
    // GitHub's documented known-answer vector.
    static let secret = "It's a Secret to Everybody"
    static let body = Array("Hello, World!".utf8)
    static let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    @Test func githubKnownAnswerVector() {
        #expect(WebhookVerification.github(body: Self.body, signatureHeader: Self.signature, secret: Self.secret) == .verified)
    }

    @Test(arguments: [
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",  // last digit
        "sha256=857107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",  // first digit
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",   // one short
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",    // wrong scheme
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",         // no scheme
    ])
    func githubWrongSignatures(_ header: String) {
        guard case .badSignature(let why) = WebhookVerification.github(body: Self.body, signatureHeader: header, secret: Self.secret) else {
            Issue.record("\(header) was accepted")
            return
        }
        #expect(!why.contains(Self.secret))
        #expect(!why.contains("757107ea"), "the expected signature is never revealed")
    }

    @Test func githubSignatureCoversTheBodyAndTheSecret() {
        #expect(WebhookVerification.github(body: Array("Hello, World?".utf8), signatureHeader: Self.signature, secret: Self.secret) != .verified)
        #expect(WebhookVerification.github(body: Self.body, signatureHeader: Self.signature, secret: "another secret") != .verified)
    }

    @Test func githubMissingSignature() {
        for header in [nil, ""] as [String?] {
            guard case .missingSignature = WebhookVerification.github(body: Self.body, signatureHeader: header, secret: Self.secret) else {
                Issue.record("a request without a signature was not refused as such")
                return
            }
        }
    }

    @Test func gitlabTokenIsComparedWhole() {
        #expect(WebhookVerification.gitlab(tokenHeader: "s3cret-token", secret: "s3cret-token") == .verified)
        for wrong in ["s3cret-toke", "s3cret-token!", "S3cret-token", " s3cret-token"] {
            guard case .badSignature = WebhookVerification.gitlab(tokenHeader: wrong, secret: "s3cret-token") else {
                Issue.record("'\(wrong)' was accepted")
                continue
            }
        }
        guard case .missingSignature = WebhookVerification.gitlab(tokenHeader: nil, secret: "s3cret-token") else {
            Issue.record("a request without X-Gitlab-Token was not refused as such")
            return
        }
    }

    @Test func constantTimeComparison() {
        let expected = Array("abcdef".utf8)
        #expect(WebhookVerification.constantTimeEqual(Array("abcdef".utf8), expected))
        #expect(!WebhookVerification.constantTimeEqual(Array("abcdeg".utf8), expected))
        #expect(!WebhookVerification.constantTimeEqual(Array("bbcdef".utf8), expected))
        #expect(!WebhookVerification.constantTimeEqual(Array("abcde".utf8), expected), "a prefix is not equal")
        #expect(!WebhookVerification.constantTimeEqual(Array("abcdef\0".utf8), expected), "nor is a longer value")
        #expect(!WebhookVerification.constantTimeEqual([], expected))
        #expect(WebhookVerification.constantTimeEqual([], []))
    }
}
