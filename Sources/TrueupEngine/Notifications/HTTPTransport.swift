import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP request of a receiver.
struct OutgoingRequest: Sendable {
    var method: HTTPMethod
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]?
}

/// A receiver's answer.
struct ReceivedAnswer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var bodyText: String { String(decoding: body.prefix(2048), as: UTF8.self) }

    /// Seconds the receiver asks to wait (Retry-After in seconds or as an HTTP date).
    var retryAfter: Double? {
        guard let text = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(text) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text).map { max(0, $0.timeIntervalSinceNow) }
    }

    /// Passes a 2xx answer; turns any other into a DeliveryFailure saying `what` was refused.
    /// 408, 429 and 5xx are worth retrying; the rest are not.
    func expectSuccess(_ what: String, advice: (Int) -> String? = { _ in nil }) throws -> ReceivedAnswer {
        if (200..<300).contains(status) { return self }
        let detail = bodyText.isEmpty ? "" : " (\(bodyText.prefix(300).replacingOccurrences(of: "\n", with: " ")))"
        let message = "\(what): HTTP \(status)\(detail)\(advice(status).map { ": \($0)" } ?? "")"
        if status == 408 || status == 429 || status >= 500 { throw DeliveryFailure.transient(message, retryAfter: retryAfter) }
        throw DeliveryFailure.permanent(message)
    }
}

/// Sends receivers' requests through the process-wide AsyncHTTPClient, each bounded by one
/// timeout that covers the whole answer (AsyncHTTPClient's own ends when the head arrives).
struct HTTPTransport: Sendable {
    /// Bodies larger than this are cut off; receivers answer with a few bytes of JSON.
    static let maximumAnswerBytes = 1 << 20
    var timeout: Double

    /// The answer, whatever its status; a connection error or a timeout is a transient
    /// DeliveryFailure whose message names `target` (never a URL holding a secret).
    func send(_ outgoing: OutgoingRequest, target: String) async throws -> ReceivedAnswer {
        var request = HTTPClientRequest(url: outgoing.url)
        request.method = outgoing.method
        for (name, value) in outgoing.headers { request.headers.add(name: name, value: value) }
        if let body = outgoing.body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let limit = TimeAmount.nanoseconds(Int64(timeout * 1_000_000_000))
        let seconds = timeout
        let result = await withTaskGroup(of: Result<ReceivedAnswer, DeliveryFailure>?.self) { group in
            group.addTask { [request] in
                do {
                    let response = try await HTTPClient.shared.execute(request, timeout: limit)
                    let body = try await response.body.collect(upTo: Self.maximumAnswerBytes)
                    return .success(ReceivedAnswer(status: Int(response.status.code), headers: response.headers, body: Array(body.readableBytesView)))
                } catch is CancellationError {
                    return nil
                } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
                    // AsyncHTTPClient's own timeout can fire a moment before the race's.
                    return .failure(.transient("\(target) did not answer within \(String(format: "%.1f", seconds))s", retryAfter: nil))
                } catch {
                    return .failure(.transient("\(target) could not be reached: \(Self.describe(error))", retryAfter: nil))
                }
            }
            group.addTask {
                try? await Task.sleep(for: .nanoseconds(limit.nanoseconds))
                return .failure(.transient("\(target) did not answer within \(String(format: "%.1f", seconds))s", retryAfter: nil))
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(.transient("\(target): the request was cancelled", retryAfter: nil))
        }
        return try result.get()
    }

    /// AsyncHTTPClient's and NIO's errors without the request URL (which may be a secret).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connection timed out"
            case .remoteConnectionClosed: return "the connection was closed before the answer"
            case .readTimeout, .deadlineExceeded: return "no answer in time"
            default: break
            }
        }
        let text = String(describing: error)
        // NIO's connection errors name host and port only; cut anything that looks like a URL.
        return text.split(separator: " ").map { $0.contains("://") ? "<url>" : String($0) }.joined(separator: " ")
    }
}
