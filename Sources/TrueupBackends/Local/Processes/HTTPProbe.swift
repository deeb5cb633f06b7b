import Glibc

/// A tiny blocking HTTP/1.0 client for 127.0.0.1: health checks and the demo's sample request.
///
/// Written by hand on purpose: the HTTP clients in the package lists (AsyncHTTPClient and the
/// like) pull SwiftNIO into the command line for what is one request to a local port. HTTP/1.0
/// with `Connection: close` means the server ends the body by closing, with no chunked encoding.
public enum HTTPProbe {
    /// Responses larger than this are cut (a health check needs none of it).
    public static let maximumResponseBytes = 16 << 20

    /// GET `path` on 127.0.0.1:`port`; nil when no complete response came within the timeout
    /// (refused, reset, timed out, or not HTTP).
    public static func get(port: Int, path: String, timeoutSeconds: Double) -> (status: Int, body: [UInt8])? {
        request(method: "GET", port: port, path: path, body: nil, contentType: nil, timeoutSeconds: timeoutSeconds)
    }

    /// POST `body` to `path` on 127.0.0.1:`port`.
    public static func post(
        port: Int, path: String, body: [UInt8], contentType: String = "application/json", timeoutSeconds: Double = 10
    ) -> (status: Int, body: [UInt8])? {
        request(method: "POST", port: port, path: path, body: body, contentType: contentType, timeoutSeconds: timeoutSeconds)
    }

    static func request(
        method: String, port: Int, path: String, body: [UInt8]?, contentType: String?, timeoutSeconds: Double
    ) -> (status: Int, body: [UInt8])? {
        // A path or header with a line break would smuggle a second request.
        guard path.hasPrefix("/"), (1...65535).contains(port),
              !path.contains(where: { $0 == "\r" || $0 == "\n" || $0 == " " }),
              !(contentType ?? "").contains(where: { $0 == "\r" || $0 == "\n" }) else { return nil }
        let deadline = Monotonic.now + timeoutSeconds
        guard let socket = ProbeSocket.connect(port: port, deadline: deadline) else { return nil }
        var head = "\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let body {
            head += "Content-Type: \(contentType ?? "application/octet-stream")\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        guard socket.send(Array(head.utf8) + (body ?? []), deadline: deadline),
              let response = socket.receiveAll(deadline: deadline, limit: maximumResponseBytes) else { return nil }
        return parse(response)
    }

    /// Splits a raw response into its status code and body.
    static func parse(_ response: [UInt8]) -> (status: Int, body: [UInt8])? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard response.count >= 12, let headEnd = firstIndex(of: separator, in: response) else { return nil }
        let statusLine = response[..<(response.firstIndex(of: 13) ?? headEnd)]
        let parts = String(decoding: statusLine, as: UTF8.self).split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]), (100...999).contains(status) else { return nil }
        return (status, Array(response[(headEnd + separator.count)...]))
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}

/// A non-blocking TCP socket to 127.0.0.1; every wait is a `poll` bounded by the deadline.
private final class ProbeSocket {
    let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    static func connect(port: Int, deadline: Double) -> ProbeSocket? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        let probe = ProbeSocket(descriptor: fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc == 0 { return probe }
        guard errno == EINPROGRESS, probe.wait(for: Int16(POLLOUT), deadline: deadline) else { return nil }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else { return nil }
        return probe
    }

    func send(_ bytes: [UInt8], deadline: Double) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0, errno == EINTR {
                continue
            } else if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                guard wait(for: Int16(POLLOUT), deadline: deadline) else { return false }
            } else {
                return false
            }
        }
        return true
    }

    /// Reads until the peer closes; nil on error or timeout.
    func receiveAll(deadline: Double, limit: Int) -> [UInt8]? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while received.count < limit {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[..<count]
            } else if count == 0 {
                return received
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                guard wait(for: Int16(POLLIN), deadline: deadline) else { return nil }
            } else {
                // A reset after a complete response (servers that close without reading the
                // rest of our request) still leaves a usable answer.
                return received.isEmpty ? nil : received
            }
        }
        return received
    }

    /// Waits for the socket to be ready for `events`; false on timeout or error.
    private func wait(for events: Int16, deadline: Double) -> Bool {
        while true {
            let remaining = deadline - Monotonic.now
            guard remaining > 0 else { return false }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let rc = poll(&entry, 1, Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up)))
            if rc > 0 { return true }  // errors and hang-ups show up in the next send or recv
            if rc == 0 { return false }
            if errno != EINTR { return false }
        }
    }
}
