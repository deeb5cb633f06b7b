import Foundation
import Glibc
import Testing
@testable import TrueupBackends

/// A service like a deployment's: listens on $PORT, answers /healthz, echoes POST /predict.
let sampleService = """
    import http.server, os

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/healthz":
                self.reply(200, b"ok")
            else:
                self.reply(404, b"not found")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.reply(200, b"echo:" + body)

        def reply(self, status, body):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    print("listening", os.environ["PORT"], os.environ.get("TRUEUP_CONFIG"), flush=True)
    http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
    """

@Suite("ServiceSupervisor: long-lived local processes with health checks")
struct ServiceSupervisorTests {
    let supervisor = ServiceSupervisor()

    func launch(_ folder: TemporaryFolder, _ command: [String], port: Int? = nil) throws -> ServiceLaunch {
        let code = try folder.folder("code")
        try sampleService.write(toFile: (code as NSString).appendingPathComponent("serve.py"), atomically: true, encoding: .utf8)
        return ServiceLaunch(codeFolder: code, command: command, environment: childEnvironment.merging(["TRUEUP_CONFIG": "{\"threshold\":0.5}"]) { $1 },
                             logPath: folder.child("logs/service.log"), port: try port ?? ServiceSupervisor.freePort())
    }

    @Test func aServiceStartsBecomesHealthyAnswersAndStops() async throws {
        let folder = try TemporaryFolder()
        let service = try supervisor.start(launch(folder, ["python3", "serve.py"]))
        #expect(await supervisor.waitHealthy(port: service.port, path: "/healthz", timeoutSeconds: 30, pid: service.pid))

        let health = try #require(await HTTPProbe.get(port: service.port, path: "/healthz", timeoutSeconds: 5))
        #expect(health.status == 200)
        #expect(health.body == Array("ok".utf8))
        #expect(await HTTPProbe.get(port: service.port, path: "/missing", timeoutSeconds: 5)?.status == 404)
        let echoed = try #require(await HTTPProbe.post(port: service.port, path: "/predict", body: Array("{\"x\":1}".utf8)))
        #expect(echoed.status == 200)
        #expect(String(decoding: echoed.body, as: UTF8.self) == "echo:{\"x\":1}")
        #expect(folder.read("logs/service.log")?.contains("listening \(service.port) {\"threshold\":0.5}") == true)

        #expect(ServiceSupervisor.isAlive(pid: service.pid, startTime: service.startTime))
        #expect(ServiceSupervisor.startTime(of: service.pid) == service.startTime)
        #expect(ProcessTable.status(of: service.pid)?.processGroup == service.pid, "a new session: pgid == pid")

        #expect(try await supervisor.stop(pid: service.pid, startTime: service.startTime, graceSeconds: 5) == .stopped)
        #expect(!ServiceSupervisor.isAlive(pid: service.pid, startTime: service.startTime))
        #expect(ProcessTable.runningMembers(ofGroup: service.pid).isEmpty)
        #expect(await HTTPProbe.get(port: service.port, path: "/healthz", timeoutSeconds: 1) == nil)
        #expect(try await supervisor.stop(pid: service.pid, startTime: service.startTime, graceSeconds: 5) == .notRunning)
    }

    @Test func aServiceThatDiesIsNeverHealthy() async throws {
        let folder = try TemporaryFolder()
        let service = try supervisor.start(launch(folder, ["sh", "-c", "sleep 0.2; echo crashing; exit 1"]))
        let began = Date()
        // Without noticing the death the wait would last its whole 300 s; the bound leaves room
        // for a loaded machine (the whole suite on two cores has taken 40 s here).
        #expect(await supervisor.waitHealthy(port: service.port, path: "/healthz", timeoutSeconds: 300, pid: service.pid) == false)
        #expect(Date().timeIntervalSince(began) < 120, "a dead process ends the wait early")
        #expect(!ServiceSupervisor.isAlive(pid: service.pid, startTime: service.startTime))
        #expect(ServiceSupervisor.startTime(of: service.pid) == nil)
        #expect(folder.read("logs/service.log") == "crashing\n")
    }

    @Test func aServiceThatNeverAnswersTimesOut() async throws {
        let folder = try TemporaryFolder()
        let service = try supervisor.start(launch(folder, ["sleep", "121"]))
        #expect(await supervisor.waitHealthy(port: service.port, path: "/healthz", timeoutSeconds: 0.5, pid: service.pid) == false)
        #expect(try await supervisor.stop(pid: service.pid, startTime: service.startTime, graceSeconds: 5) == .stopped)
    }

    @Test func aRecycledPidIsNeverSignalled() async throws {
        let folder = try TemporaryFolder()
        let service = try supervisor.start(launch(folder, ["sleep", "122"]))
        // The same pid with another start time is another process: not ours, left alone.
        let otherStart = service.startTime + 1
        #expect(!ServiceSupervisor.isAlive(pid: service.pid, startTime: otherStart))
        #expect(try await supervisor.stop(pid: service.pid, startTime: otherStart, graceSeconds: 1) == .notRunning)
        #expect(isRunning(service.pid))
        #expect(ServiceSupervisor.isAlive(pid: service.pid, startTime: service.startTime))
        #expect(try await supervisor.stop(pid: service.pid, startTime: service.startTime, graceSeconds: 1) == .stopped)
        #expect(!isRunning(service.pid))
        // A pid that never ran.
        #expect(!ServiceSupervisor.isAlive(pid: Int32.max - 1, startTime: service.startTime))
    }

    @Test func stopKillsAServiceThatIgnoresSIGTERMWithItsChildren() async throws {
        let folder = try TemporaryFolder()
        let service = try supervisor.start(launch(folder, ["sh", "-c", "trap '' TERM; sleep 123 & sleep 124"]))
        #expect(await eventually { ProcessTable.runningMembers(ofGroup: service.pid).count == 3 })
        let began = Date()
        #expect(try await supervisor.stop(pid: service.pid, startTime: service.startTime, graceSeconds: 0.5) == .stopped)
        #expect(Date().timeIntervalSince(began) >= 0.45)
        #expect(ProcessTable.runningMembers(ofGroup: service.pid).isEmpty)
    }

    @Test func freePortIsBindable() async throws {
        let port = try ServiceSupervisor.freePort()
        #expect((1024...65535).contains(port))
        #expect(await HTTPProbe.get(port: port, path: "/", timeoutSeconds: 1) == nil, "nothing listens there")
    }

    @Test func procStatParsingSurvivesOddCommandNames() {
        let line = "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 200 18446744073709551615\n"
        let status = ProcessTable.parseStat(line)
        #expect(status == ProcessStatus(pid: 4242, state: "S", parentPID: 1, processGroup: 4242, startTime: 987654))
        #expect(ProcessTable.parseStat("garbage") == nil)
    }
}

@Suite("HTTPProbe: one request to 127.0.0.1")
struct HTTPProbeTests {
    @Test func refusesPathsThatCouldSmuggleHeaders() async {
        #expect(await HTTPProbe.get(port: 80, path: "/x\r\nHost: evil", timeoutSeconds: 0.1) == nil)
        #expect(await HTTPProbe.get(port: 80, path: "relative", timeoutSeconds: 0.1) == nil)
    }

    // A probe that never gave up would hang: the time limit fails it. Elapsed time has no upper
    // bound here, since other suites' blocking work (or a sanitizer) can hold the cooperative
    // threads that resume the probe for many seconds on a 2-core machine.
    @Test(.timeLimit(.minutes(1)))
    func aServerThatNeverAnswersTimesOut() async throws {
        // A listening socket that never accepts: the connection completes (backlog), no reply.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(bound && listen(fd, 4) == 0)
        let began = Date()
        #expect(await HTTPProbe.get(port: Int(UInt16(bigEndian: address.sin_port)), path: "/healthz", timeoutSeconds: 0.3) == nil)
        let elapsed = Date().timeIntervalSince(began)
        #expect(elapsed >= 0.25, "waited for the timeout")
    }

    /// The whole response is bounded, not only its head: a server that sends a head and then
    /// stalls the body is no answer once the timeout passes.
    @Test(.timeLimit(.minutes(1)))
    func aServerThatStallsItsBodyTimesOut() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(bound && listen(fd, 4) == 0)
        let accepted = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let connection = accept(fd, nil, nil)
            let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc".utf8)
            _ = head.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            accepted.signal()
            _ = done.wait(timeout: .now() + 10)
            close(connection)
        }
        defer { done.signal() }
        let began = Date()
        #expect(await HTTPProbe.get(port: Int(UInt16(bigEndian: address.sin_port)), path: "/healthz", timeoutSeconds: 0.5) == nil)
        let elapsed = Date().timeIntervalSince(began)
        #expect(accepted.wait(timeout: .now()) == .success, "the server sent its head")
        #expect(elapsed >= 0.45, "waited for the timeout")
    }
}
