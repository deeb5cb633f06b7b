import Foundation
import TrueupCore

/// A failed MLflow call: which server, which call, what the server said (its `error_code` and
/// message), and whether trying again may help. Never holds a request's headers, so the token
/// cannot show.
public struct MLflowError: Error, Sendable, CustomStringConvertible {
    public var server: String
    public var call: String
    /// The HTTP status; nil when no answer came (refused, reset, timed out).
    public var status: Int?
    /// MLflow's `error_code` (`RESOURCE_DOES_NOT_EXIST`, ...), or `UNREACHABLE` / `TIMEOUT`.
    public var code: String
    public var message: String
    public var transient: Bool
    /// Set when a transient failure was given up on.
    public var attempts: Int?
    public var seconds: Double?

    init(server: String, call: String, status: Int?, code: String, message: String, transient: Bool) {
        self.server = server
        self.call = call
        self.status = status
        self.code = code
        self.message = message
        self.transient = transient
    }

    public var isNotFound: Bool { status == 404 || code == "RESOURCE_DOES_NOT_EXIST" }
    /// MLflow answers "already exists" with a 400, not a 409.
    public var isAlreadyExists: Bool { code == "RESOURCE_ALREADY_EXISTS" }

    public var description: String {
        var text = "MLflow at \(server): \(call) "
        if let status { text += "answered \(status) \(code): \(message)" } else { text += "failed (\(code)): \(message)" }
        if let attempts, let seconds {
            text += String(format: "; gave up after %d attempts over %.1f s", attempts, seconds)
        }
        if status == nil || (status ?? 0) >= 500 || status == 429 {
            text += ". Check that the MLflow server at \(server) is up and reachable (spec.backends.registry.url), then run the command again"
        } else if status == 401 || status == 403 {
            text += ". Check the token (the variable named by spec.backends.registry.tokenFromEnv) and that the server accepts this client"
        }
        return text
    }

    /// The error for a non-2xx answer, with MLflow's `{error_code, message}` when it sent one.
    static func fromResponse(server: String, call: String, status: Int, body: [UInt8], mask: (String) -> String) -> MLflowError {
        struct Payload: Decodable {
            var error_code: String?
            var message: String?
        }
        let payload = try? JSONDecoder().decode(Payload.self, from: Data(body))
        let text = payload?.message ?? String(decoding: body.prefix(300), as: UTF8.self)
        return MLflowError(
            server: server, call: call, status: status, code: payload?.error_code ?? "HTTP_\(status)",
            message: mask(text.trimmingCharacters(in: .whitespacesAndNewlines)), transient: status == 429 || status >= 500)
    }
}

extension MLflowError {
    /// As the engine's error: transient errors may be retried by the apply.
    var backendError: BackendError { BackendError(description, transient: transient) }
}
