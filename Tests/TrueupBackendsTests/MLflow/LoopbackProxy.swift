import Foundation
import Glibc
import Synchronization
import TrueupTestSupport

/// An HTTP proxy on 127.0.0.1 between trueup and the real MLflow server: it counts and records
/// every request, and can answer some with a fault instead of forwarding them. Plain blocking
/// sockets on threads, one request per connection (it tells both sides `Connection: close`), so
/// what it counts is exactly what the client sent.
final class LoopbackProxy: Sendable {
    enum Action: Sendable {
        case forward
        /// Answers 503 without asking the server.
        case unavailable
        /// Closes the connection with a reset before anything is answered.
        case reset
        /// Forwards the request (the server does the work), then resets instead of answering:
        /// the client never learns that its call succeeded.
        case forwardThenReset
        /// Holds the connection silent for this many seconds, then closes it.
        case stall(Double)
    }

    struct Request: Sendable {
        var index: Int
        var method: String
        var target: String
        var headers: [String: String]
    }

    let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let plan: @Sendable (Request) -> Action
    private let recorded = Mutex<[Request]>([])

    init(upstreamPort: Int, plan: @escaping @Sendable (Request) -> Action = { _ in .forward }) throws {
        self.upstreamPort = upstreamPort
        self.plan = plan
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("proxy: socket() failed: errno \(errno)") }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 64) == 0 else { close(fd); throw TestSupportError("proxy: bind/listen failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let listening = listener
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(listening, nil, nil)
                if connection < 0 { return }
                Thread.detachNewThread { self.handle(connection) }
            }
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Every request seen so far, in arrival order.
    var requests: [Request] { recorded.withLock { $0 } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func handle(_ client: Int32) {
        defer { close(client) }
        guard let (head, body) = Self.readRequest(client) else { return }
        let lines = head.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ").map(String.init)
        guard requestLine.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = recorded.withLock { all in
            let request = Request(index: all.count, method: requestLine[0], target: requestLine[1], headers: headers)
            all.append(request)
            return request
        }
        switch plan(request) {
        case .forward:
            guard let answer = forward(head: lines, body: body) else { return }
            Self.writeAll(client, answer)
        case .unavailable:
            let payload = #"{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "injected by the test proxy"}"#
            Self.writeAll(client, Array("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(payload.utf8.count)\r\nConnection: close\r\n\r\n\(payload)".utf8))
        case .reset:
            Self.reset(client)
        case .forwardThenReset:
            _ = forward(head: lines, body: body)
            Self.reset(client)
        case .stall(let seconds):
            Thread.sleep(forTimeInterval: seconds)
        }
    }

    /// Sends the request on to the server with `Connection: close` and returns its whole answer.
    private func forward(head lines: [String], body: [UInt8]) -> [UInt8]? {
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard upstream >= 0 else { return nil }
        defer { close(upstream) }
        var address = Self.loopback(port: upstreamPort)
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { return nil }
        var rewritten = lines.filter { !$0.lowercased().hasPrefix("connection:") && !$0.isEmpty }
        rewritten.append("Connection: close")
        Self.writeAll(upstream, Array((rewritten.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body)
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(upstream, &buffer, buffer.count)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return answer
    }

    private static func readRequest(_ socket: Int32) -> (String, [UInt8])? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            let count = read(socket, &buffer, buffer.count)
            if count <= 0 { return nil }
            data += buffer[0..<count]
            if data.count >= 4 {
                headEnd = (0...(data.count - 4)).first { data[$0..<($0 + 4)].elementsEqual(separator) }
            }
        }
        let head = String(decoding: data[0..<headEnd!], as: UTF8.self)
        var body = Array(data[(headEnd! + 4)...])
        let length = head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        while body.count < length {
            let count = read(socket, &buffer, buffer.count)
            if count <= 0 { return nil }
            body += buffer[0..<count]
        }
        return (head, body)
    }

    private static func writeAll(_ socket: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// SO_LINGER with a zero timeout: close() sends a TCP reset.
    private static func reset(_ socket: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
