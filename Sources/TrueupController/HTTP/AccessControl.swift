import Crypto
import Foundation
import Hummingbird
import TrueupCore

/// The API's bearer token (`--api-token-env`, or the one the controller keeps in `STATE/api-token`).
///
/// The API wants `Authorization: Bearer <token>`. People reach the dashboard with a browser, which
/// sends no such header: they sign in once at `/login`, which sets a session cookie derived from
/// the token (never the token itself). The cookie is accepted for reading (GET), and for the
/// dashboard's Sync forms, which also carry a form key only the signed-in page holds, so a page on
/// another site cannot make a signed-in browser change anything. Health, readiness, metrics
/// (unless `--metrics-need-token`) and the webhooks (which carry their own signatures) stay open.
struct AccessControl<Context: RequestContext>: RouterMiddleware {
    let token: String
    var metricsOpen = true

    static var sessionCookie: String { "trueup_session" }

    /// The dashboard's Sync form posts here; the handler checks the form key.
    static var dashboardSyncPrefix: String { "/sync/" }

    func isOpen(_ path: String) -> Bool {
        (metricsOpen && path == "/metrics")
            || ["/healthz", "/readyz", "/login", "/api/v1/webhooks/github", "/api/v1/webhooks/gitlab"].contains(path)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !isOpen(request.uri.path) else { return try await next(request, context) }
        if let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") {
            let given = String(authorization.dropFirst("Bearer ".count))
            if Self.matches(given, token) { return try await next(request, context) }
        } else if request.method == .get || request.method == .post && request.uri.path.hasPrefix(Self.dashboardSyncPrefix),
                  let session = request.cookies[Self.sessionCookie]?.value,
                  WebhookVerification.constantTimeEqual(Array(session.utf8), Array(Self.session(for: token).utf8)) {
            return try await next(request, context)
        }
        if request.uri.path.hasPrefix("/api/") || request.uri.path == "/metrics" {
            return Responses.error(.unauthorized, "missing or wrong bearer token: send `Authorization: Bearer TOKEN`, TOKEN being the controller's API token: the file api-token in its state directory, or the variable named by its --api-token-env",
                                   headers: [("WWW-Authenticate", "Bearer realm=\"trueup\"")])
        }
        return Response.redirect(to: "/login", type: .found)
    }

    static func matches(_ given: String, _ token: String) -> Bool {
        WebhookVerification.constantTimeEqual(Array(SHA256.hash(data: Data(given.utf8))), Array(SHA256.hash(data: Data(token.utf8))))
    }

    /// The key the dashboard's Sync forms carry: derived from the token like the session, but a
    /// different value, and only in the signed-in page (a cookie alone is not enough to post).
    static func formKey(for token: String) -> String {
        ContentDigest.hex(HMAC<SHA256>.authenticationCode(for: Array("trueup dashboard form".utf8), using: SymmetricKey(data: Data(token.utf8))))
    }

    /// The dashboard session: an HMAC of a fixed label under the token, so the cookie proves the
    /// token was given without carrying it.
    static func session(for token: String) -> String {
        ContentDigest.hex(HMAC<SHA256>.authenticationCode(for: Array("trueup dashboard session".utf8), using: SymmetricKey(data: Data(token.utf8))))
    }
}
