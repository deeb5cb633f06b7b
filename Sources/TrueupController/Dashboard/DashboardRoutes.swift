import Foundation
import Hummingbird

/// `GET /` (the dashboard), `GET`/`POST /login`, where a person gives the API token once and gets
/// a session cookie for the dashboard and the logs, and `POST /sync/{env}`, the dashboard's Sync
/// button (the session cookie and the page's form key).
struct DashboardRoutes {
    let context: ControllerContext

    func add(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Responses.html(try DashboardPage.gather(context).render()) }
        router.get("/login") { _, _ in Responses.html(Self.loginPage(failed: false)) }
        router.post("/login") { request, _ in await login(request) }
        router.post("/sync/{env}") { request, http in try await sync(http.parameters.require("env"), request) }
    }

    private func sync(_ name: String, _ request: Request) async throws -> Response {
        let key = AccessControl<BasicRequestContext>.formKey(for: context.configuration.apiToken ?? "")
        guard case .complete(let body) = await WebhookRoutes.collect(request.body, upTo: 8192),
              let given = Self.formField("key", in: body),
              WebhookVerification.constantTimeEqual(Array(given.utf8), Array(key.utf8)) else {
            return Responses.error(.forbidden, "the Sync form lacks the dashboard's form key: reload the dashboard and press Sync there")
        }
        let queued = try APIRoutes.sync(name, context)
        guard queued.status == .accepted else { return queued }
        return Response.redirect(to: "/", type: .normal)
    }

    static func formField(_ name: String, in body: [UInt8]) -> String? {
        var form = URLComponents()
        form.percentEncodedQuery = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "+", with: "%20")
        return form.queryItems?.first { $0.name == name }?.value
    }

    private func login(_ request: Request) async -> Response {
        let token = context.configuration.apiToken ?? ""
        guard case .complete(let body) = await WebhookRoutes.collect(request.body, upTo: 8192) else {
            return Responses.html(Self.loginPage(failed: true), status: .badRequest)
        }
        let given = Self.formField("token", in: body) ?? ""
        guard AccessControl<BasicRequestContext>.matches(given, token) else {
            return Responses.html(Self.loginPage(failed: true), status: .unauthorized)
        }
        var response = Response.redirect(to: "/", type: .normal)
        response.headers[.setCookie] = "\(AccessControl<BasicRequestContext>.sessionCookie)=\(AccessControl<BasicRequestContext>.session(for: token)); Path=/; HttpOnly; SameSite=Lax"
        return response
    }

    static func loginPage(failed: Bool) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>trueup · sign in</title><style>\(DashboardPage.style)</style></head>
        <body><header><h1>trueup</h1></header><main><section>
        <h2>Sign in to the dashboard</h2>
        \(failed ? "<p class=\"alert\">That is not the controller's API token.</p>" : "")
        <form method="post" action="/login">
        <p>The dashboard and its Sync buttons need the controller's API token: the file <code>api-token</code> in its state directory, or the value of the variable named by its <code>--api-token-env</code>.</p>
        <label>API token<br><input type="password" name="token" size="40" autofocus></label>
        <button type="submit">Sign in</button>
        </form></section></main></body></html>

        """
    }
}
