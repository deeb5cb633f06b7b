import Foundation
import Hummingbird

/// Responses the controller sends: JSON documents, JSON errors (`{"error": "what; what to do"}`),
/// plain text and HTML. Nothing from the request is ever echoed back.
enum Responses {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        do {
            return body(try encoder.encode(value), status: status, contentType: "application/json; charset=utf-8")
        } catch {
            return self.error(.internalServerError, "cannot encode the response (\(error)): report this as a bug")
        }
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, headers extra: [(String, String)] = []) -> Response {
        var response = json(["error": message], status: status)
        for (name, value) in extra {
            response.headers[.init(name)!] = value
        }
        return response
    }

    static func text(_ text: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        body(Data(text.utf8), status: status, contentType: contentType)
    }

    static func html(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        var response = text(html, status: status, contentType: "text/html; charset=utf-8")
        response.headers[.cacheControl] = "no-store"
        return response
    }

    private static func body(_ data: Data, status: HTTPResponse.Status, contentType: String) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Errors thrown by handlers or by routing (no such endpoint) become JSON errors.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                return Responses.error(.notFound, "no such endpoint: \(request.method) \(request.uri.path); the API is under /api/v1 (environments, runs, webhooks)")
            case .methodNotAllowed:
                return Responses.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
            default:
                return Responses.error(error.status, error.body ?? error.status.reasonPhrase)
            }
        } catch {
            context.logger.error("request failed: \(error)")
            return Responses.error(.internalServerError, "the controller failed to answer: \(error)")
        }
    }
}
