import AsyncHTTPClient
import NIOCore

/// One HTTP request to 127.0.0.1: health checks and the demo's sample request, through the
/// process-wide `HTTPClient.shared` (never shut down, so nothing here owns a client's lifetime).
public enum HTTPProbe {
    /// Responses larger than this count as no answer (a health check needs none of it).
    public static let maximumResponseBytes = 16 << 20

    /// GET `path` on 127.0.0.1:`port`; nil when no complete response came within the timeout
    /// (refused, reset, timed out, or not HTTP).
    public static func get(port: Int, path: String, timeoutSeconds: Double) async -> (status: Int, body: [UInt8])? {
        await request(port: port, path: path, body: nil, contentType: nil, timeoutSeconds: timeoutSeconds)
    }

    /// POST `body` to `path` on 127.0.0.1:`port`.
    public static func post(
        port: Int, path: String, body: [UInt8], contentType: String = "application/json", timeoutSeconds: Double = 10
    ) async -> (status: Int, body: [UInt8])? {
        await request(port: port, path: path, body: body, contentType: contentType, timeoutSeconds: timeoutSeconds)
    }

    /// POST when there is a body, else GET.
    static func request(
        port: Int, path: String, body: [UInt8]?, contentType: String?, timeoutSeconds: Double
    ) async -> (status: Int, body: [UInt8])? {
        // Only paths on the service itself; a line break would smuggle a header or a second request.
        guard path.hasPrefix("/"), (1...65535).contains(port), timeoutSeconds > 0,
              !path.contains(where: { $0 == "\r" || $0 == "\n" || $0 == " " }),
              !(contentType ?? "").contains(where: { $0 == "\r" || $0 == "\n" }) else { return nil }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = body == nil ? .GET : .POST
        // A fresh connection per probe: a service restarted on the same port must not be judged
        // through a pooled connection to its predecessor.
        request.headers.add(name: "Connection", value: "close")
        if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/octet-stream")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let timeout = TimeAmount.nanoseconds(Int64(timeoutSeconds * 1_000_000_000))
        // The client's timeout ends when the response head arrives; the race bounds the body too.
        return await withTaskGroup(of: (status: Int, body: [UInt8])?.self) { group in
            group.addTask { [request] in
                do {
                    let response = try await HTTPClient.shared.execute(request, timeout: timeout)
                    let received = try await response.body.collect(upTo: maximumResponseBytes)
                    return (Int(response.status.code), Array(received.readableBytesView))
                } catch {
                    return nil
                }
            }
            group.addTask {
                try? await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
