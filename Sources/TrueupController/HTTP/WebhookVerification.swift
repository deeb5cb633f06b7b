import Crypto
import Foundation
import TrueupCore

/// Checks that a webhook comes from the forge holding the shared secret. Pure: bytes in, verdict
/// out. Secrets and signatures never appear in a verdict's text.
enum WebhookVerification {
    enum Provider: String, Sendable {
        case github, gitlab
    }

    enum Verdict: Equatable, Sendable {
        case verified
        /// 401: the header is absent.
        case missingSignature(String)
        /// 401: present but wrong.
        case badSignature(String)
    }

    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed by the secret>`.
    static func github(body: some DataProtocol, signatureHeader: String?, secret: String) -> Verdict {
        guard let header = signatureHeader, !header.isEmpty else {
            return .missingSignature("the request has no X-Hub-Signature-256 header: set the webhook's secret in GitHub")
        }
        let expected = "sha256=" + ContentDigest.hex(HMAC<SHA256>.authenticationCode(for: Array(body), using: SymmetricKey(data: Data(secret.utf8))))
        guard constantTimeEqual(Array(header.utf8), Array(expected.utf8)) else {
            return .badSignature("X-Hub-Signature-256 does not match the body: the webhook's secret in GitHub differs from the controller's")
        }
        return .verified
    }

    /// GitLab: `X-Gitlab-Token` carries the secret itself; compared through fixed-length digests so
    /// that the comparison reveals neither the secret nor its length.
    static func gitlab(tokenHeader: String?, secret: String) -> Verdict {
        guard let token = tokenHeader, !token.isEmpty else {
            return .missingSignature("the request has no X-Gitlab-Token header: set the webhook's secret token in GitLab")
        }
        guard constantTimeEqual(Array(SHA256.hash(data: Data(token.utf8))), Array(SHA256.hash(data: Data(secret.utf8)))) else {
            return .badSignature("X-Gitlab-Token is not the controller's webhook secret: set the same secret token in GitLab")
        }
        return .verified
    }

    /// Compares every byte whatever it finds, so the time taken says nothing about where two
    /// values differ. Runs over all of `expected`; a length difference counts as a difference.
    static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        for index in expected.indices {
            let byte = index < given.count ? given[index] : 0
            difference |= byte ^ expected[index]
        }
        return difference == 0
    }
}
