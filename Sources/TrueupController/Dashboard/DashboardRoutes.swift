import Foundation
import Hummingbird

/// `GET /` (the dashboard) and, when an API token is configured, `GET`/`POST /login`, where a
/// person gives the token once and gets a session cookie for reading the dashboard and the logs.
struct DashboardRoutes {
    let context: ControllerContext

    func add(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Responses.html(try DashboardPage.gather(context).render()) }
        router.get("/login") { _, _ in Responses.html(Self.loginPage(failed: false)) }
        router.post("/login") { request, _ in await login(request) }
    }

    private func login(_ request: Request) async -> Response {
        guard let token = context.configuration.apiToken else {
            return Response.redirect(to: "/", type: .found)
        }
        guard case .complete(let body) = await WebhookRoutes.collect(request.body, upTo: 8192) else {
            return Responses.html(Self.loginPage(failed: true), status: .badRequest)
        }
        var form = URLComponents()
        form.percentEncodedQuery = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "+", with: "%20")
        let given = form.queryItems?.first { $0.name == "token" }?.value ?? ""
        guard AccessControl<BasicRequestContext>.matches(given, token) else {
            return Responses.html(Self.loginPage(failed: true), status: .unauthorized)
        }
        var response = Response.redirect(to: "/", type: .normal)
        response.headers[.setCookie] = "\(AccessControl<BasicRequestContext>.sessionCookie)=\(AccessControl<BasicRequestContext>.session(for: token)); Path=/; HttpOnly; SameSite=Strict"
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
        <label>API token (the value of the variable named by --api-token-env)<br><input type="password" name="token" size="40" autofocus></label>
        <button type="submit">Sign in</button>
        </form></section></main></body></html>

        """
    }
}
