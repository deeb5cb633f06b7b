import Foundation
import TrueupCore

/// Deployments as supervised local processes with HTTP health checks.
///
/// A deployment process outlives the trueup command that started it; the state store keeps its
/// pid, start time and port, so observing finds it again and a dead one is drift. An update starts
/// the new process, waits for health, and only then stops the old one. The local backend runs one
/// process per deployment (validate refuses `replicas` above 1 here; Ray Serve spreads them).
///
/// Ports: `spec.port` pins one; since two processes cannot listen on it, an update of a pinned
/// deployment stops the old process before starting the new (a short gap). Without a pin, the
/// port the deployment had is taken again whenever it is free (after a crash, a reboot, a heal),
/// and an update of a live deployment starts the new version on a fresh port so the old one
/// serves until the new one is healthy.
public struct LocalServing: ServingBackend {
    let store: LocalBackendStore
    let paths: LocalPaths
    let supervisor = ServiceSupervisor()

    public init(store: LocalBackendStore, paths: LocalPaths) {
        self.store = store
        self.paths = paths
    }

    public func observe(environment: String) async throws -> [String: DeploymentRecord] {
        var result: [String: DeploymentRecord] = [:]
        for (name, stored) in try store.deployments(environment: environment) {
            var record = stored.record
            record.problem = await Self.problem(stored)
            result[name] = record
        }
        return result
    }

    static func problem(_ stored: LocalBackendStore.StoredDeployment) async -> String? {
        let notRunning = "its process \(stored.pid.map(String.init) ?? "?") is not running"
        guard let pid = stored.pid, let start = stored.pidStartTime, ServiceSupervisor.isAlive(pid: pid, startTime: start) else {
            return notRunning
        }
        let path = stored.record.healthPath
        if let port = stored.port, let response = await HTTPProbe.get(port: port, path: path, timeoutSeconds: 2), (200..<300).contains(response.status) {
            return nil
        }
        // A server that died while it was probed fails the probe too: the reason then is that it
        // is gone, which says what to do (start it again), not that it answers badly.
        if !ServiceSupervisor.isAlive(pid: pid, startTime: start) { return notRunning }
        return "its health check GET \(path) on port \(stored.port.map(String.init) ?? "?") is failing"
    }

    public func deploy(_ request: DeploymentRequest) async throws -> DeploymentRecord {
        let existing = try store.deployments(environment: request.environment)[request.name]
        if let existing, existing.record.configHash == request.configHash, await Self.problem(existing) == nil {
            return existing.record
        }
        let folder = paths.deployment(environment: request.environment, name: request.name, configHash: request.configHash)
        let code = (folder as NSString).appendingPathComponent("code")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try LocalFiles.createAtomically(code) { try request.materializeCode($0) }
        // A process this folder started before a crash (not yet in the store): stop it, so that
        // exactly one instance of this version runs. instance.json names it once written; a crash
        // between the spawn and that write leaves only its working directory to find it by.
        let instanceFile = (folder as NSString).appendingPathComponent("instance.json")
        if let leftover = Self.readInstance(instanceFile), leftover.pid != existing?.pid {
            _ = try? await supervisor.stop(pid: leftover.pid, startTime: leftover.startTime, graceSeconds: 5)
        }
        for leftover in ProcessTable.groupLeaders(workingIn: code) where leftover.pid != existing?.pid {
            _ = try? await supervisor.stop(pid: leftover.pid, startTime: leftover.startTime, graceSeconds: 5)
        }
        var environment = request.environmentVariables
        let inherited = ProcessInfo.processInfo.environment
        environment["PATH"] = environment["PATH"] ?? inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        environment["HOME"] = environment["HOME"] ?? inherited["HOME"] ?? "/tmp"
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment["PYTHONUNBUFFERED"] = "1"
        var replaced = existing
        let port: Int
        if let pinned = request.port {
            // Only one process can listen on a pinned port: the old one goes first.
            if let old = replaced, old.port == pinned, let pid = old.pid, let start = old.pidStartTime {
                _ = try? await supervisor.stop(pid: pid, startTime: start, graceSeconds: 10)
                replaced = nil
            }
            guard ServiceSupervisor.isFree(port: pinned) else {
                throw BackendError("\(request.name) pins port \(pinned) (spec.port), but something else listens on 127.0.0.1:\(pinned): stop it (`ss -ltnp 'sport = :\(pinned)'` shows what), or pin another port")
            }
            port = pinned
        } else if let previous = existing?.port, ServiceSupervisor.isFree(port: previous) {
            port = previous
        } else {
            port = try ServiceSupervisor.freePort()
        }
        let logPath = (folder as NSString).appendingPathComponent("service.log")
        let running = try supervisor.start(ServiceLaunch(codeFolder: code, command: request.command, environment: environment, logPath: logPath, port: port))
        try? Self.writeInstance(instanceFile, running)
        let healthy = await supervisor.waitHealthy(port: port, path: request.healthPath, timeoutSeconds: request.healthTimeoutSeconds, pid: running.pid)
        guard healthy else {
            _ = try? await supervisor.stop(pid: running.pid, startTime: running.startTime, graceSeconds: 5)
            try? FileManager.default.removeItem(atPath: instanceFile)
            let tail = Self.tail(logPath)
            let before = existing == nil ? "nothing was serving before" : replaced == nil ? "the previous version was stopped to free the pinned port, so nothing serves now" : "the previous version keeps serving"
            throw BackendError("\(request.name) did not become healthy (GET \(request.healthPath) on port \(port)) within \(DurationSyntax.format(request.healthTimeoutSeconds)); \(before). Last lines of \(logPath):\n\(tail)")
        }
        let record = DeploymentRecord(
            environment: request.environment, name: request.name, configHash: request.configHash, assetVersion: request.assetVersion,
            endpoint: "http://127.0.0.1:\(port)", pid: running.pid, startedAt: Date().timeIntervalSince1970, healthPath: request.healthPath)
        try store.saveDeployment(record, pid: running.pid, pidStartTime: running.startTime, port: port)
        // Only now that the new one serves does the old one go.
        if let existing = replaced, let pid = existing.pid, let start = existing.pidStartTime, pid != running.pid {
            _ = try? await supervisor.stop(pid: pid, startTime: start, graceSeconds: 10)
        }
        return record
    }

    public func remove(environment: String, name: String) async throws {
        guard let existing = try store.deployments(environment: environment)[name] else { return }
        if let pid = existing.pid, let start = existing.pidStartTime {
            _ = try await supervisor.stop(pid: pid, startTime: start, graceSeconds: 10)
        }
        try store.deleteDeployment(environment: environment, name: name)
    }

    /// A server `stopServers` stopped.
    public struct StoppedServer: Sendable, Hashable {
        public var name: String
        public var pid: Int32
        public var endpoint: String
    }

    /// Stops the processes serving `environment`'s deployments and keeps their records, so that
    /// the next observation finds them down (drift) and an apply starts them again, on the same
    /// port when it is free. Nothing else is touched. Returns the servers that were running.
    public func stopServers(environment: String) async throws -> [StoppedServer] {
        var stopped: [StoppedServer] = []
        for (name, existing) in try store.deployments(environment: environment).sorted(by: { $0.key < $1.key }) {
            guard let pid = existing.pid, let start = existing.pidStartTime else { continue }
            if try await supervisor.stop(pid: pid, startTime: start, graceSeconds: 10) == .stopped {
                stopped.append(StoppedServer(name: name, pid: pid, endpoint: existing.record.endpoint))
            }
        }
        return stopped
    }

    struct Instance: Codable {
        var pid: Int32
        var startTime: UInt64
        var port: Int
    }

    static func writeInstance(_ path: String, _ running: RunningService) throws {
        let data = try JSONEncoder().encode(Instance(pid: running.pid, startTime: running.startTime, port: running.port))
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func readInstance(_ path: String) -> Instance? {
        FileManager.default.contents(atPath: path).flatMap { try? JSONDecoder().decode(Instance.self, from: $0) }
    }

    static func tail(_ path: String, lines: Int = 10) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no output)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
